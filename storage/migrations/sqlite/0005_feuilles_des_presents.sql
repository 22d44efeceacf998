-- Une feuille signée par plusieurs présents (émargement collectif) appartient à chacun d'eux :
-- la ligne de chaque présent connu du PLIE porte son participant (son dossier, le pack et la
-- recherche de son opération la trouvent), et la feuille l'opération qu'elle nomme.
CREATE INDEX signataire_participant ON signataire (participant_id) WHERE participant_id IS NOT NULL;

-- Feuilles déjà recueillies : la n-ième ligne de présent (par rang) est la n-ième entrée de
-- $.participants ; un présent est reconnu par l'identifiant du logiciel de parcours.
UPDATE signataire SET participant_id = (
    SELECT p.id
    FROM document d, json_each(d.donnees, '$.participants') j
    JOIN participant p ON p.plie = d.plie
                      AND p.identifiant_externe = json_extract(j.value, '$.identifiant')
    WHERE d.id = signataire.document_id
      AND j.key = (SELECT count(*) FROM signataire s
                   WHERE s.document_id = signataire.document_id
                     AND s.role = 'participant' AND s.rang < signataire.rang))
WHERE role = 'participant' AND participant_id IS NULL
  AND document_id IN (SELECT id FROM document WHERE participant_id IS NULL
                      AND json_type(donnees, '$.participants') = 'array');

UPDATE document SET operation_id = (
    SELECT p.operation_id FROM signataire s JOIN participant p ON p.id = s.participant_id
    WHERE s.document_id = document.id AND s.role = 'participant' AND p.operation_id IS NOT NULL
    ORDER BY s.rang LIMIT 1)
WHERE operation_id IS NULL AND participant_id IS NULL;
