-- Justificatifs et packs d'audit. Mêmes conventions que 0001 : chaque ligne appartient à un PLIE
-- et toute requête filtre par PLIE ; jours « AAAA-MM-JJ », instants UTC ISO 8601, empreintes en
-- hexadécimal minuscule.

-- Pièce venue de l'extérieur (bulletin de salaire, Kbis, courriel .eml…), typée par le catalogue
-- (justificatifs.toml), déposée au coffre sous son empreinte (type de pièce « justificatif »).
CREATE TABLE justificatif (
    id          INTEGER PRIMARY KEY,
    plie        TEXT NOT NULL REFERENCES plie(id),
    operation_id INTEGER NOT NULL REFERENCES operation(id),
    participant_id INTEGER REFERENCES participant(id),  -- NULL : pièce de l'opération (affiche FSE…)
    etape       TEXT,                        -- étape du parcours justifiée, s'il y a lieu
    genre       TEXT NOT NULL,               -- type du catalogue : « bulletin-salaire », « kbis »…
    catalogue_version TEXT NOT NULL,         -- version du catalogue qui a accepté la pièce
    nom_fichier TEXT NOT NULL,               -- nom d'origine (pour la personne qui la retrouve)
    type_mime   TEXT NOT NULL CHECK (type_mime IN
                    ('application/pdf', 'image/jpeg', 'image/png', 'message/rfc822')),
    sha256      TEXT NOT NULL,
    taille      INTEGER NOT NULL,
    date_piece  TEXT,                        -- date que porte la pièce (jour), si on la connaît
    depose_par  INTEGER NOT NULL REFERENCES personnel(id),
    depose_le   TEXT NOT NULL,
    depose_seq  INTEGER NOT NULL             -- entrée du journal qui atteste le dépôt
);
CREATE INDEX justificatif_participant ON justificatif (plie, participant_id);
CREATE INDEX justificatif_operation ON justificatif (plie, operation_id, genre);
-- La même pièce deux fois pour le même dossier est un doublon ; pour un autre participant, non.
CREATE UNIQUE INDEX justificatif_unique ON justificatif
    (plie, operation_id, coalesce(participant_id, 0), sha256);

-- Pack d'audit demandé (ligne de commande ou écran de l'assistante), fait en tâche de fond.
CREATE TABLE export (
    id          INTEGER PRIMARY KEY,
    plie        TEXT NOT NULL REFERENCES plie(id),
    ref         TEXT NOT NULL UNIQUE,        -- identifiant public, aléatoire
    demandeur   INTEGER REFERENCES personnel(id),  -- NULL : ligne de commande
    operation_id INTEGER NOT NULL REFERENCES operation(id),
    parametres  TEXT NOT NULL,               -- JSON : période, participant, données sensibles…
    etat        TEXT NOT NULL DEFAULT 'attente'
                    CHECK (etat IN ('attente', 'en_cours', 'fini', 'echec')),
    progression INTEGER NOT NULL DEFAULT 0,  -- fichiers écrits
    total       INTEGER NOT NULL DEFAULT 0,  -- fichiers prévus
    chemin      TEXT,                        -- le ZIP, sous <data-dir>/exports/
    sha256      TEXT,                        -- du ZIP
    taille      INTEGER,
    manifeste_sha256 TEXT,                   -- de manifeste.json (inscrit au journal)
    erreur      TEXT,
    cree_le     TEXT NOT NULL,
    fini_le     TEXT
);
CREATE INDEX export_plie ON export (plie, cree_le);
