-- Logos des PLIE : l'image déposée dans les réglages, normalisée en PNG par parafe et nommée par
-- son empreinte (« <sha256>.png »), que la fiche du PLIE désigne (champ « logo »). Un logo
-- remplacé reste là : les documents qui le portent se composent à nouveau à l'identique.
CREATE TABLE logo (
    plie        TEXT NOT NULL REFERENCES plie(id),
    nom         TEXT NOT NULL,
    octets      BYTEA NOT NULL,
    cree_le     TEXT NOT NULL,
    PRIMARY KEY (plie, nom)
);
