-- Les chiffres du PLIE (service/chiffres.rs) lisent les participants d'une opération sur une
-- période : sans cet index, chaque calcul parcourait tous les participants du PLIE.
CREATE INDEX participant_operation ON participant (plie, operation_id, date_entree);
