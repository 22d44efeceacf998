-- La recherche des participants : prénom, nom et identifiant tels qu'elle les compare (sans
-- accents ni majuscules, ponctuation réduite à des espaces), écrits par parafe à chaque import.
-- Les lignes déjà là sont remplies par parafe au démarrage : SQL ne sait pas ôter les accents.
ALTER TABLE participant ADD COLUMN recherche TEXT NOT NULL DEFAULT '';
