-- Questionnaire FSE (crate parafe-fse, définitions sous fse/questionnaires/) : les réponses d'un
-- participant dans une opération, une ligne par moment du recueil (entrée, sortie, six mois
-- après la sortie). Mêmes conventions que 0001 : chaque ligne appartient à un PLIE et toute
-- requête filtre par PLIE ; jours « AAAA-MM-JJ », instants UTC ISO 8601. Données personnelles
-- (santé, logement, origine) : lues par le seul besoin d'en connaître, chaque lecture journalisée ;
-- gardées avec le dossier de l'opération, jusqu'à sa date de conservation.

CREATE TABLE questionnaire (
    id          INTEGER PRIMARY KEY,
    plie        TEXT NOT NULL REFERENCES plie(id),
    participant_id INTEGER NOT NULL REFERENCES participant(id),
    operation_id INTEGER NOT NULL REFERENCES operation(id),
    moment      TEXT NOT NULL CHECK (moment IN ('entree', 'sortie', 'six_mois')),
    programme   TEXT NOT NULL,               -- définition employée : « pon-2014-2020 »…
    version     TEXT NOT NULL,               -- et sa version (champ `version` du fichier)
    reponses    TEXT NOT NULL,               -- JSON : identifiant de question → réponse (parafe_fse::Reponses)
    recueilli_le TEXT NOT NULL,              -- jour du recueil (la question `recueil` du moment)
    saisi_par   INTEGER NOT NULL REFERENCES personnel(id),
    saisi_le    TEXT NOT NULL,
    UNIQUE (participant_id, operation_id, moment)
);
CREATE INDEX questionnaire_operation ON questionnaire (plie, operation_id);
