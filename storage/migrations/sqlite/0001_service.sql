-- parafe : la base du service (SQLite). Chaque ligne appartient à un PLIE ; toute requête filtre
-- par PLIE (isolement strict). Les dates sont en ISO 8601 (jours « AAAA-MM-JJ », instants UTC
-- « AAAA-MM-JJTHH:MM:SS.sssZ »), les empreintes en hexadécimal minuscule.

CREATE TABLE plie (
    id          TEXT PRIMARY KEY,            -- identifiant court (model::PlieId)
    nom         TEXT NOT NULL,
    fiche       TEXT NOT NULL DEFAULT '{}',  -- JSON : structure, adresse, téléphone… (champ « plie » des modèles)
    cree_le     TEXT NOT NULL
);

-- Opération FSE : programme et règle de conservation des pièces.
CREATE TABLE operation (
    id          INTEGER PRIMARY KEY,
    plie        TEXT NOT NULL REFERENCES plie(id),
    code        TEXT NOT NULL,               -- ex. « 202500123 » (numéro Ma Démarche FSE)
    intitule    TEXT NOT NULL,
    programme   TEXT NOT NULL DEFAULT 'fse-plus-2021-2027',
    conservation TEXT NOT NULL DEFAULT '',   -- rappel de la règle (la règle elle-même : store/retention.json)
    UNIQUE (plie, code)
);

-- Département : où vont les bilans BRSA (Référent unique RSA, service départemental d'insertion).
CREATE TABLE departement (
    plie        TEXT NOT NULL REFERENCES plie(id),
    code        TEXT NOT NULL,               -- « 33 », « 2A »
    nom         TEXT NOT NULL,
    email_referent_unique TEXT NOT NULL,
    email_sdi   TEXT NOT NULL,
    bilans_mois TEXT,                        -- JSON [5,11,17] si le Département en fixe d'autres
    PRIMARY KEY (plie, code)
);

-- Personnel : référents, assistants, coordinateurs, administrateurs.
CREATE TABLE personnel (
    id          INTEGER PRIMARY KEY,
    plie        TEXT NOT NULL REFERENCES plie(id),
    email       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    nom         TEXT NOT NULL,
    prenom      TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('referent', 'assistant', 'coordinateur', 'admin')),
    structure   TEXT NOT NULL DEFAULT '',
    mot_de_passe TEXT,                       -- PHC argon2id ; NULL tant que le compte n'est pas activé
    echecs      INTEGER NOT NULL DEFAULT 0,
    verrouille_jusqua TEXT,
    actif       INTEGER NOT NULL DEFAULT 1,
    identifiant_externe TEXT,                -- identifiant dans le logiciel de parcours
    cree_le     TEXT NOT NULL
);
CREATE UNIQUE INDEX personnel_externe ON personnel (plie, identifiant_externe);

-- Participant. `ref` est l'identifiant pseudonyme employé dans le journal et le coffre.
CREATE TABLE participant (
    id          INTEGER PRIMARY KEY,
    plie        TEXT NOT NULL REFERENCES plie(id),
    ref         TEXT NOT NULL UNIQUE,
    identifiant_externe TEXT NOT NULL,       -- identifiant du logiciel de parcours (UP)
    civilite    TEXT NOT NULL DEFAULT '',
    nom         TEXT NOT NULL,
    prenom      TEXT NOT NULL,
    date_naissance TEXT,
    email       TEXT,
    telephone   TEXT,
    commune     TEXT NOT NULL DEFAULT '',
    code_postal TEXT NOT NULL DEFAULT '',
    departement TEXT,                        -- code du Département (bilans BRSA)
    referent_id INTEGER REFERENCES personnel(id),
    operation_id INTEGER REFERENCES operation(id),
    prescripteur TEXT NOT NULL DEFAULT '',
    email_prescripteur TEXT,
    date_entree TEXT,
    rsa         INTEGER NOT NULL DEFAULT 0,
    cer_debut   TEXT,                        -- début du contrat d'engagements réciproques
    date_sortie TEXT,
    motif_sortie TEXT,
    cree_le     TEXT NOT NULL,
    UNIQUE (plie, identifiant_externe)
);
CREATE INDEX participant_referent ON participant (plie, referent_id);
CREATE INDEX participant_nom ON participant (plie, nom, prenom);

-- Document : une instance de workflow. `etat` suit la machine d'états de document::Etat.
CREATE TABLE document (
    id          INTEGER PRIMARY KEY,
    plie        TEXT NOT NULL REFERENCES plie(id),
    ref         TEXT NOT NULL UNIQUE,        -- identifiant public, aléatoire
    workflow    TEXT NOT NULL,
    modele      TEXT NOT NULL,
    participant_id INTEGER REFERENCES participant(id),
    operation_id INTEGER REFERENCES operation(id),
    auteur_id   INTEGER REFERENCES personnel(id),
    etat        TEXT NOT NULL,
    donnees     TEXT NOT NULL,               -- JSON validé par le schéma du modèle
    bilan       TEXT,                        -- bilans BRSA : « 5 », « 11 », « 17 » ou « sortie »
    echeance    TEXT,                        -- jour dû (bilans)
    envoye_le   TEXT,
    expire_le   TEXT,
    sha256_rendu TEXT,                       -- version présentée aux signataires
    sha256_scelle TEXT,                      -- version scellée (déposée au coffre)
    depose_seq  INTEGER,                     -- numéro d'entrée du journal du dépôt
    cree_le     TEXT NOT NULL,
    modifie_le  TEXT NOT NULL
);
CREATE INDEX document_participant ON document (plie, participant_id);
CREATE INDEX document_etat ON document (plie, etat);
CREATE UNIQUE INDEX document_bilan ON document (participant_id, bilan) WHERE bilan IS NOT NULL AND etat <> 'annule';

-- Versions d'un document : chaque rendu présenté ou scellé, par empreinte (octets dans versions/).
CREATE TABLE version (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES document(id),
    numero      INTEGER NOT NULL,
    genre       TEXT NOT NULL CHECK (genre IN ('rendu', 'scelle')),
    sha256      TEXT NOT NULL,
    taille      INTEGER NOT NULL,
    cree_le     TEXT NOT NULL,
    UNIQUE (document_id, numero)
);

-- Signataires d'un document, dans l'ordre du workflow.
CREATE TABLE signataire (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES document(id),
    rang        INTEGER NOT NULL,
    role        TEXT NOT NULL,
    nom         TEXT NOT NULL,
    email       TEXT,
    methode     TEXT NOT NULL CHECK (methode IN ('tablette', 'lien')),
    personnel_id INTEGER REFERENCES personnel(id),
    participant_id INTEGER REFERENCES participant(id),
    etat        TEXT NOT NULL DEFAULT 'attente' CHECK (etat IN ('attente', 'signe', 'refuse')),
    jeton_sha256 TEXT UNIQUE,                -- empreinte du jeton du lien (le jeton n'est jamais gardé)
    jeton_expire_le TEXT,
    jeton_utilise INTEGER NOT NULL DEFAULT 0,
    code_sha256 TEXT,                        -- code à usage unique envoyé par courriel
    code_expire_le TEXT,
    code_essais INTEGER NOT NULL DEFAULT 0,
    code_verifie_le TEXT,
    signe_le    TEXT,
    ip          TEXT,
    agent       TEXT,
    version_sha256 TEXT,                     -- version affichée au moment de signer
    signature_png BLOB,
    traits      TEXT,                        -- JSON : tracés (x, y, t, pression)
    consentement TEXT,
    motif_refus TEXT,
    UNIQUE (document_id, rang)
);

-- Historique des transitions (le journal chaîné en garde la preuve, sans données personnelles).
CREATE TABLE evenement (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES document(id),
    de          TEXT,
    vers        TEXT NOT NULL,
    acteur      TEXT NOT NULL,
    le          TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX evenement_document ON evenement (document_id);

-- Boîte d'envoi durable : scellement (horodatage), dépôt au coffre, courriels, écritures au journal. Une tâche par clé ;
-- reprise avec attente croissante ; jamais perdue, jamais faite deux fois.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    cle         TEXT NOT NULL UNIQUE,        -- ex. « sceller:<ref> », « courriel:<ref>:sdi »
    genre       TEXT NOT NULL CHECK (genre IN ('sceller', 'deposer', 'courriel', 'journal')),
    plie        TEXT NOT NULL,
    charge      TEXT NOT NULL,               -- JSON propre au genre
    etat        TEXT NOT NULL DEFAULT 'attente' CHECK (etat IN ('attente', 'fait', 'abandon')),
    essais      INTEGER NOT NULL DEFAULT 0,
    prochain_essai TEXT NOT NULL,
    derniere_erreur TEXT,
    resultat    TEXT,                        -- JSON : identifiant du message, heure d'acceptation…
    commence_le TEXT,                        -- effet extérieur commencé (courriel remis au serveur SMTP, entrée au journal) sans fin connue
    cree_le     TEXT NOT NULL,
    fait_le     TEXT
);
CREATE INDEX outbox_a_faire ON outbox (etat, prochain_essai);

-- Jetons d'API pour les intégrations (empreinte seulement), portée = rôle du compte.
CREATE TABLE jeton_api (
    sha256      TEXT PRIMARY KEY,
    personnel_id INTEGER NOT NULL REFERENCES personnel(id),
    libelle     TEXT NOT NULL,
    cree_le     TEXT NOT NULL,
    expire_le   TEXT
);
