-- Comptes du personnel et kiosque d'émargement. Mêmes conventions que 0001 : chaque ligne
-- appartient à un PLIE (directement ou par le personnel), jours « AAAA-MM-JJ », instants UTC
-- ISO 8601, empreintes SHA-256 en hexadécimal minuscule. Aucun secret n'est gardé en clair :
-- cookies, liens et jetons ne sont connus que par leur empreinte.

-- Session ouverte par un membre du personnel (cookie HttpOnly, SameSite=Strict).
CREATE TABLE session (
    sha256      TEXT PRIMARY KEY,            -- empreinte du secret du cookie
    personnel_id INTEGER NOT NULL REFERENCES personnel(id),
    csrf        TEXT NOT NULL,               -- jeton anti-CSRF de la session (formulaires, en-tête X-CSRF-Token)
    cree_le     TEXT NOT NULL,
    vu_le       TEXT NOT NULL,               -- dernière requête (expiration après inactivité)
    expire_le   TEXT NOT NULL,               -- fin absolue, quoi qu'il arrive
    ip          TEXT NOT NULL DEFAULT '',
    agent       TEXT NOT NULL DEFAULT '',
    kiosque_id  INTEGER REFERENCES kiosque(id)  -- non NULL : tablette verrouillée sur une feuille
);
CREATE INDEX session_personnel ON session (personnel_id);

-- Liens à usage unique envoyés au personnel : activation d'un compte (premier administrateur,
-- compte créé par un administrateur) ou réinitialisation du mot de passe.
CREATE TABLE lien_compte (
    sha256      TEXT PRIMARY KEY,
    personnel_id INTEGER NOT NULL REFERENCES personnel(id),
    genre       TEXT NOT NULL CHECK (genre IN ('activation', 'reinitialisation')),
    cree_le     TEXT NOT NULL,
    expire_le   TEXT NOT NULL,
    utilise_le  TEXT
);
CREATE INDEX lien_compte_personnel ON lien_compte (personnel_id);

-- Séance d'émargement ouverte sur une tablette (entretien individuel ou atelier collectif).
-- La feuille est un document (workflow emargement-*) ; la séance dit qui l'a ouverte, sur quel
-- appareil, et si elle est close.
CREATE TABLE kiosque (
    id          INTEGER PRIMARY KEY,
    plie        TEXT NOT NULL REFERENCES plie(id),
    ref         TEXT NOT NULL UNIQUE,        -- identifiant public, aléatoire
    document_id INTEGER NOT NULL UNIQUE REFERENCES document(id),
    tablette    TEXT NOT NULL DEFAULT '',    -- appareil (navigateur) qui a ouvert la séance
    ouvert_par  INTEGER NOT NULL REFERENCES personnel(id),
    etat        TEXT NOT NULL DEFAULT 'ouvert' CHECK (etat IN ('ouvert', 'clos', 'quitte')),
    ouvert_le   TEXT NOT NULL,
    clos_le     TEXT
);
CREATE INDEX kiosque_plie ON kiosque (plie, etat);

-- Envois d'une tablette, par clé d'idempotence choisie par la tablette : une personne ajoutée
-- sur place, renvoyée après une coupure du réseau, n'est ajoutée qu'une fois ; une clôture
-- renvoyée ne clôt qu'une fois ; une signature tracée hors ligne garde l'heure de la tablette.
-- (Une signature renvoyée pour un signataire qui a signé répond « déjà enregistrée ».)
CREATE TABLE kiosque_envoi (
    kiosque_id  INTEGER NOT NULL REFERENCES kiosque(id),
    cle         TEXT NOT NULL,
    signataire_id INTEGER NOT NULL,             -- signataire concerné
    recu_le     TEXT NOT NULL,
    capture_le  TEXT,                        -- heure de la tablette au moment du tracé
    PRIMARY KEY (kiosque_id, cle)
);
