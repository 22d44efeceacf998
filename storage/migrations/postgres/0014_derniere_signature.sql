-- La dernière signature de chaque participant par workflow, écrite avec la signature : les
-- règles de suivi (storage/suivi.toml) lisent la date du dernier entretien ou atelier de tout
-- le PLIE sans parcourir l'historique des émargements (la vue du coordinateur).
CREATE TABLE derniere_signature (
    participant_id BIGINT NOT NULL REFERENCES participant(id),
    workflow    TEXT NOT NULL,
    signe_le    TEXT NOT NULL,
    PRIMARY KEY (participant_id, workflow)
);

INSERT INTO derniere_signature (participant_id, workflow, signe_le)
SELECT s.participant_id, d.workflow, max(s.signe_le)
FROM signataire s JOIN document d ON d.id = s.document_id
WHERE s.participant_id IS NOT NULL AND s.etat = 'signe' AND s.signe_le IS NOT NULL
GROUP BY s.participant_id, d.workflow;
