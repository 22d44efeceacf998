-- Journal partagé entre plusieurs instances ([grappe]) : chaque ligne de chaque chaîne, telle
-- qu'écrite dans les segments (le JSON de l'entrée, sans fin de ligne). (plie, seq) unique : deux
-- instances ne peuvent écrire la même entrée n d'une chaîne ; la seconde reprend après la première.
-- Une instance seule n'y écrit rien : son journal est dans son dossier de données.
CREATE TABLE journal_ligne (
    plie    TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    segment INTEGER NOT NULL,
    ligne   TEXT NOT NULL,
    PRIMARY KEY (plie, seq)
);

-- Les PLIE qui ont une chaîne (lus au démarrage d'une instance sans les parcourir toutes).
CREATE TABLE journal_chaine (
    plie TEXT PRIMARY KEY
);

-- Les ancres (toutes les têtes sous un horodatage), chaînées par leur numéro.
CREATE TABLE journal_ancre (
    numero INTEGER PRIMARY KEY,
    ligne  TEXT NOT NULL
);
