-- Bilans BRSA prévus : l'échéancier que la planification tient à jour (quel bilan, pour qui, dû
-- quel jour). Le document du bilan n'est créé que lorsque le référent l'ouvre pour le rédiger :
-- planifier un PLIE n'écrit plus un document et un signataire par bilan à venir (300 000 de
-- chaque pour 100 000 participants au RSA), et le signataire est le référent du moment.
CREATE TABLE bilan_prevu (
    participant_id BIGINT NOT NULL REFERENCES participant(id),
    bilan       TEXT NOT NULL,               -- « 5 », « 11 », « 17 » ou « sortie »
    echeance    TEXT NOT NULL,               -- jour dû
    PRIMARY KEY (participant_id, bilan)
);

-- (Reprise des bilans déjà créés en brouillon sans objet : une base PostgreSQL naît vide de ces migrations.)
