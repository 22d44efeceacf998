-- L'aperçu d'un import, gardé une heure pour la session qui l'a fait (par une empreinte de son
-- nom, jamais son secret), jusqu'à sa confirmation : dans la base, toute instance de la grappe
-- le reprend, sans affinité de session. Le texte tient des données personnelles : la ligne est
-- effacée dès qu'il a servi, remplacée par l'aperçu suivant de la session, ou passée son heure.
CREATE TABLE apercu_import (
    garde       TEXT PRIMARY KEY,
    sha256      TEXT NOT NULL,
    texte       TEXT NOT NULL,
    cree_le     TEXT NOT NULL
);
