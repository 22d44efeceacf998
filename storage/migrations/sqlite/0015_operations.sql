-- Opération FSE : sa période, ses cofinanceurs et la date de son dernier paiement, d'où sa
-- conservation se calcule selon son programme (voir operations.rs du service). Le programme
-- prend ses noms définitifs : « pon-2014-2020 », « fse-plus-2021-2027 », « aucun ».
ALTER TABLE operation ADD COLUMN debut TEXT;
ALTER TABLE operation ADD COLUMN fin TEXT;
ALTER TABLE operation ADD COLUMN cofinanceurs TEXT NOT NULL DEFAULT '';
ALTER TABLE operation ADD COLUMN dernier_paiement TEXT;
UPDATE operation SET programme = 'pon-2014-2020' WHERE programme = 'fse-2014-2020';
