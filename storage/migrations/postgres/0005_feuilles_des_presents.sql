-- Une feuille signée par plusieurs présents (émargement collectif) appartient à chacun d'eux :
-- la ligne de chaque présent connu du PLIE porte son participant (son dossier, le pack et la
-- recherche de son opération la trouvent), et la feuille l'opération qu'elle nomme.
CREATE INDEX signataire_participant ON signataire (participant_id) WHERE participant_id IS NOT NULL;

-- (Reprise des feuilles déjà recueillies sans objet : une base PostgreSQL naît vide de ces migrations.)
