-- Plusieurs instances sur une même base : chaque tâche de la boîte d'envoi prise l'est par un
-- bail (quelle instance, jusqu'à quand), renouvelé tant qu'elle tourne ; le bail d'une instance
-- arrêtée expire et une autre reprend la tâche. Un travail périodique (échéancier, ancrage du
-- journal) a son bail aussi : une seule instance le fait à chaque période. Les instances se
-- déclarent et battent : au démarrage, une seconde instance non déclarée est refusée.
ALTER TABLE outbox ADD COLUMN bail_instance TEXT;   -- instance qui tient la tâche
ALTER TABLE outbox ADD COLUMN bail_jusqu_a TEXT;    -- fin du bail ; absent : libre

CREATE TABLE veilles (
    nom         TEXT PRIMARY KEY,            -- « echeancier », « ancrage »
    instance    TEXT NOT NULL,
    jusqu_a     TEXT NOT NULL
);

CREATE TABLE instances (
    nom         TEXT PRIMARY KEY,            -- [grappe] instance, « seule » sans grappe
    hote        TEXT NOT NULL,               -- machine et processus, pour les messages
    demarree_le TEXT NOT NULL,
    vue_le      TEXT NOT NULL                -- dernier battement
);
