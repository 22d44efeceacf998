//! The FSE questionnaire of a participant in an opération: its definition chosen by the
//! opération's programme (data files under `fse/`, overridable per deployment), the checks of
//! the answers for a moment (entry, exit, six months after), the delays of the exit and
//! six-month data, the export to Ma Démarche FSE, the common indicators and the PLIE's figures
//! over a period. Pure: no storage, no clock — the day is given.

mod chiffres;
mod controle;
mod definition;
mod delais;
mod dossier;
#[cfg(test)]
mod essais;
mod fichiers;
mod indicateurs;
mod mdfse;

pub use chiffres::{
    chiffres, mois_sans_feuille, nom_du_mois, sortie_positive, Chiffres, Motif, Periode, Preset,
    Suivi,
};
pub use controle::{verifier, Defaut, Faute};
pub use definition::{
    Bornes, Cas, Choix, Condition, Contact, Delais, Genre, Indicateur, Moment, Preremplissage,
    Question, Questionnaire, Rubrique,
};
pub use delais::{
    echeance_six_mois, echeance_sortie, EcheanceSixMois, EcheanceSortie, EtatSixMois, EtatSortie,
};
pub use dossier::{Operation, Parcours, Participant, Reponse, Reponses};
pub use fichiers::DefinitionError;
pub use indicateurs::{indicateurs, Compte};
pub use mdfse::{exporter, CarteMdfse, Colonne, Export, ExportError, Incomplet, Rapport, Source};
