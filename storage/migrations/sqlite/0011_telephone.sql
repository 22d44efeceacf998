-- Signature sur le téléphone du signataire : l'écran du référent affiche un QR code (et un code
-- court) valable quelques minutes, une fois, pour un document et un signataire, et seulement
-- tant que cette page le montre (battement). Ni le jeton ni le code ne sont gardés : leurs
-- empreintes seulement.
CREATE TABLE jeton_telephone (
    id            INTEGER PRIMARY KEY,
    document_id   INTEGER NOT NULL REFERENCES document(id),
    signataire_id INTEGER NOT NULL REFERENCES signataire(id) ON DELETE CASCADE,
    personnel_id  INTEGER NOT NULL REFERENCES personnel(id),   -- qui l'a affiché
    jeton_sha256  TEXT NOT NULL UNIQUE,
    code_sha256   TEXT,                      -- code court ; effacé une fois saisi ou le jeton utilisé
    jeton_code_sha256 TEXT UNIQUE,           -- jeton tiré quand le code court a été saisi
    cree_le       TEXT NOT NULL,
    expire_le     TEXT NOT NULL,
    battement_le  TEXT NOT NULL,             -- dernier signe de vie de la page du référent
    ouvert_le     TEXT,                      -- première ouverture sur le téléphone
    utilise_le    TEXT
);
CREATE INDEX jeton_telephone_signataire ON jeton_telephone (signataire_id);
CREATE INDEX jeton_telephone_code ON jeton_telephone (code_sha256);

-- Codes courts erronés, pour bloquer qui les essaie au hasard (en base : plusieurs instances
-- du service les voient tous) ; oubliés après un quart d'heure.
CREATE TABLE essai_code_telephone (
    id          INTEGER PRIMARY KEY,
    adresse     TEXT NOT NULL,               -- empreinte de l'adresse IP
    le          TEXT NOT NULL
);
CREATE INDEX essai_code_telephone_adresse ON essai_code_telephone (adresse, le);
CREATE INDEX essai_code_telephone_le ON essai_code_telephone (le);
