-- Ce que les règles de suivi comptent (storage/suivi.toml, « perte de contact ») : les absences
-- à une séance émargée et les relances écrites envoyées à un participant.

-- Un présent attendu qui n'a pas signé quand la feuille a été close : absent, excusé ou non.
CREATE TABLE absence (
    id          INTEGER PRIMARY KEY,
    plie        TEXT NOT NULL REFERENCES plie(id),
    participant_id INTEGER NOT NULL REFERENCES participant(id),
    document_id INTEGER NOT NULL REFERENCES document(id),  -- la feuille d'émargement
    jour        TEXT NOT NULL,               -- jour de la séance (Paris)
    excusee     INTEGER NOT NULL DEFAULT 0,
    note_le     TEXT NOT NULL,
    UNIQUE (document_id, participant_id)
);
CREATE INDEX absence_participant ON absence (participant_id, jour);

-- Chaque relance d'un signataire (nouveau lien envoyé) : sans réponse tant qu'il n'a pas signé.
CREATE TABLE relance (
    signataire_id INTEGER NOT NULL REFERENCES signataire(id),
    le          TEXT NOT NULL,
    PRIMARY KEY (signataire_id, le)
);
