-- Ce qui distingue deux homonymes là où un nom se choisit ou se lit (kiosque, listes, recherche),
-- comme le PLIE le préfère : « annee_naissance », « commune » ou « identifiant » (du logiciel de
-- parcours) ; voir participants.rs du service.
ALTER TABLE plie ADD COLUMN homonymes TEXT NOT NULL DEFAULT 'annee_naissance';
