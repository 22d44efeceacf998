-- Liens de signature, codes et liens de compte : aucun secret au repos. Le jeton d'un lien ou
-- un code est tiré par la tâche de courriel au moment de l'envoi, seule son empreinte est écrite
-- (avant la remise au serveur SMTP) ; la boîte d'envoi ne garde qu'un gabarit sans secret.

-- Invitation en cours d'un signataire par lien : la tâche de courriel qui porte le lien tire le
-- jeton de cette invitation-là, jamais d'une invitation remplacée depuis (relance).
ALTER TABLE signataire ADD COLUMN invitation TEXT;
-- Empreinte du lien sur lequel le code a été confirmé (code_verifie_le) : la confirmation
-- n'appartient qu'à ce lien et expire.
ALTER TABLE signataire ADD COLUMN code_lien TEXT;

-- Codes envoyés, pour borner les envois par lien et par adresse (en base : plusieurs instances
-- du service les voient tous).
CREATE TABLE envoi_code (
    id          INTEGER PRIMARY KEY,
    signataire_id INTEGER NOT NULL REFERENCES signataire(id),
    lien        TEXT NOT NULL,               -- empreinte du lien qui a demandé le code
    adresse     TEXT NOT NULL,               -- empreinte de l'adresse e-mail (en minuscules)
    le          TEXT NOT NULL
);
CREATE INDEX envoi_code_lien ON envoi_code (lien, le);
CREATE INDEX envoi_code_adresse ON envoi_code (adresse, le);

-- Liens de compte : l'empreinte n'est connue qu'une fois le courriel envoyé (NULL avant).
CREATE TABLE lien_compte_0004 (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT UNIQUE,
    personnel_id INTEGER NOT NULL REFERENCES personnel(id),
    genre       TEXT NOT NULL CHECK (genre IN ('activation', 'reinitialisation')),
    cree_le     TEXT NOT NULL,
    expire_le   TEXT NOT NULL,
    utilise_le  TEXT
);
INSERT INTO lien_compte_0004 (sha256, personnel_id, genre, cree_le, expire_le, utilise_le)
    SELECT sha256, personnel_id, genre, cree_le, expire_le, utilise_le FROM lien_compte;
DROP TABLE lien_compte;
ALTER TABLE lien_compte_0004 RENAME TO lien_compte;
CREATE INDEX lien_compte_personnel ON lien_compte (personnel_id);

-- Courriels déjà envoyés par une version antérieure : leur texte portait les liens et les codes.
UPDATE outbox SET charge = json_remove(charge, '$.courriel.texte')
    WHERE genre = 'courriel' AND etat <> 'attente';
