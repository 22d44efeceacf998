-- Préremplissage du questionnaire FSE d'entrée : les colonnes de l'extraction du logiciel de
-- parcours que les définitions de questionnaire déclarent ([[preremplissage]] de
-- fse/questionnaires/*.toml : niveau de formation, RQTH, minima sociaux…), gardées telles que
-- l'import les a lues (JSON : en-tête → valeur). Données personnelles, parfois sensibles (RQTH) :
-- jamais montrées avec la fiche, lues pour proposer les réponses d'entrée que le référent confirme.
ALTER TABLE participant ADD COLUMN extraction TEXT;

-- Feuilles de temps du personnel : les documents qu'un membre du personnel signe depuis son
-- compte dans un rôle (salarié), retrouvés par ses signatures pour ses relances et sa page « À
-- faire » sans parcourir celles de tous ses entretiens.
CREATE INDEX signataire_personnel ON signataire (personnel_id, role) WHERE personnel_id IS NOT NULL;
