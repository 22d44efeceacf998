-- Remise de sa copie à un destinataire sans adresse e-mail (un participant sans e-mail ou sans
-- domicile fixe) : due dès le dépôt du document au coffre (mode vide), puis faite comme le PLIE
-- l'a consignée (imprimée et remise en main propre, ou remise à son contact), le jour dit et par
-- qui. Le document n'est « remis aux destinataires » qu'une fois toutes ses remises faites.

CREATE TABLE remise (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES document(id),
    destinataire TEXT NOT NULL,              -- rôle du workflow : « participant »
    du_le       TEXT NOT NULL,               -- instant du dépôt qui l'a rendue due
    mode        TEXT CHECK (mode IN ('main_propre', 'contact')),
    remis_a     TEXT,                        -- le contact qui l'a reçue (mode « contact »)
    remis_le    TEXT,                        -- jour de la remise, AAAA-MM-JJ
    par_id      INTEGER REFERENCES personnel(id),
    UNIQUE (document_id, destinataire)
);
CREATE INDEX remise_due ON remise (document_id) WHERE mode IS NULL;
