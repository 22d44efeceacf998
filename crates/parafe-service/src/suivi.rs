//! The PLIE's follow-up rules as timers: from a participant's facts (interviews, étapes,
//! absences, reminders, entry and exit, bilans due, the FSE questionnaire's moments) and the
//! rules of `storage/suivi.toml`, the actions due and when, each with its urgency and the button
//! that does it. Pure: no SQL, no clock — the day is given ([`echeances`]); the facts come from
//! [`crate::db::suivi`]. The questionnaire's delays are its definition's ([`parafe_fse::Delais`]),
//! the exit proof's those of the catalogue of justificatifs: neither is repeated here.
//!
//! The rules are data: the embedded file holds the seeds' values, a PLIE overrides some of them
//! by `<data-dir>/suivi/<plie>.toml`, a deployment by `<data-dir>/suivi.toml`; an override file
//! gives only the keys it changes, merged key by key over the defaults ([`Regles::charger`]).

use crate::justificatif::catalogue::{Catalogue, CatalogueError};
use chrono::{Datelike, Months, NaiveDate, TimeDelta};
use parafe_core::model::PlieId;
use parafe_fse::{echeance_six_mois, echeance_sortie, Delais, EtatSortie};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The embedded rules (the seeds' values).
pub const PAR_DEFAUT: &str = include_str!("../../../storage/suivi.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regles {
    pub version: String,
    pub definitions: Definitions,
    pub urgence: ReglesUrgence,
    pub premier_entretien: Delai,
    pub entretiens: ParMois,
    pub sans_entretien: Alerte,
    pub sans_etape: Alerte,
    pub suivi_justifie: Alerte,
    pub revues: Revues,
    pub suivi_emploi: SuiviEmploi,
    pub perte_de_contact: PerteDeContact,
    pub sortie: ReglesSortie,
    pub preuve_sortie: PreuveSortie,
    /// Where it was read from, for error messages.
    #[serde(skip)]
    pub source: String,
}

/// Which workflows make an interview, an étape, a workshop.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definitions {
    pub entretiens: Vec<String>,
    pub etapes: Vec<String>,
    pub ateliers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReglesUrgence {
    pub semaine_jours: u32,
    pub horizon_jours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delai {
    pub delai_jours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParMois {
    pub par_mois: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerte {
    pub mois: u32,
    pub preavis_jours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revues {
    pub mois: Vec<u32>,
    pub preavis_jours: u32,
    pub preuves: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiviEmploi {
    pub mois: u32,
    pub entretiens_par_mois: u32,
    pub motifs: Vec<String>,
    pub preuves: Vec<String>,
    pub preavis_jours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerteDeContact {
    pub absences: u32,
    pub relances: u32,
}

/// The exit reasons the participant's screen offers (a reason stays free text: the API and the
/// import take any).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReglesSortie {
    pub motifs: Vec<String>,
}

/// The proof of the exit: the requirement of the catalogue of justificatifs that says which
/// pieces prove it and within how many days ([`Regles::charger`] reads them there).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreuveSortie {
    pub exigence: String,
    #[serde(skip)]
    pub delai_jours: u32,
    #[serde(skip)]
    pub preuves: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReglesError {
    #[error("règles de suivi {path} illisibles : {source}")]
    Lecture {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("règles de suivi {source_name} invalides : {message}")]
    Invalide {
        source_name: String,
        message: String,
    },
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
}

/// `over` laid on `base`, key by key (tables merged, anything else replaced).
fn fusionner(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existant) => fusionner(existant, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

impl Regles {
    /// The rules in force for `plie`: the defaults, under the deployment's file, under the
    /// PLIE's; the exit proof as the PLIE's catalogue of justificatifs (`catalogue`) requires it.
    pub fn charger(
        data_dir: &Path,
        plie: &PlieId,
        catalogue: &Catalogue,
    ) -> Result<Regles, ReglesError> {
        let mut textes = Vec::new();
        for path in [
            data_dir.join("suivi.toml"),
            data_dir
                .join("suivi")
                .join(format!("{}.toml", plie.as_str())),
        ] {
            match std::fs::read_to_string(&path) {
                Ok(t) => textes.push((t, path.display().to_string())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(ReglesError::Lecture { path, source }),
            }
        }
        let couches: Vec<(&str, &str)> = textes
            .iter()
            .map(|(t, s)| (t.as_str(), s.as_str()))
            .collect();
        Regles::lire_avec(&couches, catalogue)
    }

    pub fn par_defaut() -> Result<Regles, ReglesError> {
        Regles::lire(&[])
    }

    /// The defaults with `couches` laid over them, the exit proof from the embedded catalogue.
    pub fn lire(couches: &[(&str, &str)]) -> Result<Regles, ReglesError> {
        Regles::lire_avec(couches, &Catalogue::par_defaut()?)
    }

    /// The defaults with `couches` (text, its name) laid over them in order, then checked; the
    /// exit proof's pieces and delay taken from `catalogue`'s requirement.
    pub fn lire_avec(
        couches: &[(&str, &str)],
        catalogue: &Catalogue,
    ) -> Result<Regles, ReglesError> {
        let invalide = |source_name: &str, message: String| ReglesError::Invalide {
            source_name: source_name.to_owned(),
            message,
        };
        let mut valeur: toml::Value = toml::from_str(PAR_DEFAUT)
            .map_err(|e| invalide("(règles embarquées)", e.to_string()))?;
        let mut nom = "(règles embarquées)".to_owned();
        for (texte, source) in couches {
            let v: toml::Value =
                toml::from_str(texte).map_err(|e| invalide(source, e.to_string()))?;
            fusionner(&mut valeur, v);
            nom = (*source).to_owned();
        }
        let mut r: Regles = valeur
            .try_into()
            .map_err(|e: toml::de::Error| invalide(&nom, e.to_string()))?;
        r.source = nom.clone();
        for (cle, v) in [
            ("entretiens.par_mois", r.entretiens.par_mois),
            (
                "suivi_emploi.entretiens_par_mois",
                r.suivi_emploi.entretiens_par_mois,
            ),
            ("urgence.semaine_jours", r.urgence.semaine_jours),
            ("sans_entretien.mois", r.sans_entretien.mois),
            ("sans_etape.mois", r.sans_etape.mois),
            ("suivi_justifie.mois", r.suivi_justifie.mois),
            ("perte_de_contact.absences", r.perte_de_contact.absences),
            ("perte_de_contact.relances", r.perte_de_contact.relances),
        ] {
            if v == 0 {
                return Err(invalide(&nom, format!("{cle} doit être au moins 1")));
            }
        }
        if r.sortie.motifs.iter().all(|m| m.trim().is_empty()) {
            return Err(invalide(&nom, "sortie.motifs : au moins un motif".into()));
        }
        if r.revues.mois.contains(&0) {
            return Err(invalide(&nom, "revues.mois : mois à partir de 1".into()));
        }
        let exigence = catalogue
            .exigences
            .iter()
            .find(|e| e.id == r.preuve_sortie.exigence)
            .ok_or_else(|| {
                invalide(
                    &nom,
                    format!(
                        "preuve_sortie.exigence : « {} » n'est pas une exigence du catalogue des justificatifs ({})",
                        r.preuve_sortie.exigence, catalogue.source
                    ),
                )
            })?;
        r.preuve_sortie.delai_jours = exigence.delai_jours;
        r.preuve_sortie.preuves = exigence.une_parmi.clone();
        Ok(r)
    }
}

/// A participant's facts, as the repository reads them (days are Paris days).
#[derive(Debug, Clone, Default)]
pub struct Faits {
    /// The participant's reference, name and first name.
    pub participant: String,
    pub nom: String,
    pub prenom: String,
    pub date_entree: Option<NaiveDate>,
    pub date_sortie: Option<NaiveDate>,
    pub motif_sortie: Option<String>,
    /// Days of his interviews, in any order.
    pub entretiens: Vec<NaiveDate>,
    /// Days of his étapes.
    pub etapes: Vec<NaiveDate>,
    pub absences: Vec<Absence>,
    /// Days of the written reminders he has not answered.
    pub relances_sans_reponse: Vec<NaiveDate>,
    /// Justificatifs: type and day (of the piece, else of its filing).
    pub pieces: Vec<(String, NaiveDate)>,
    /// Bilans BRSA planned and not signed yet.
    pub bilans: Vec<BilanDu>,
    /// The FSE questionnaire of his opération, when it is co-funded.
    pub questionnaire: Option<QuestionnaireFse>,
}

/// A participant's FSE questionnaire: the delays of its programme's definition (their one
/// source) and the day each moment was collected, if it was.
#[derive(Debug, Clone)]
pub struct QuestionnaireFse {
    pub delais: Arc<Delais>,
    pub entree: Option<NaiveDate>,
    pub sortie: Option<NaiveDate>,
    pub six_mois: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy)]
pub struct Absence {
    pub jour: NaiveDate,
    pub excusee: bool,
}

#[derive(Debug, Clone)]
pub struct BilanDu {
    /// `5`, `11`, `17` or `sortie`.
    pub bilan: String,
    pub echeance: NaiveDate,
    /// Its document, once opened, and that document's state code.
    pub document: Option<(String, String)>,
}

/// What is to be done, named after the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    PremierEntretien,
    EntretienDuMois,
    SansEntretien,
    SansEtape,
    SuiviJustifie,
    Revue,
    EntretienDansLEmploi,
    SortiePositive,
    PerteDeContact,
    PreuveSortie,
    BilanBrsa,
    QuestionnaireEntree,
    QuestionnaireSortie,
    QuestionnaireSixMois,
    /// A staff member's own time sheet of a month ended (no participant: the line is his).
    FeuilleDeTemps,
    /// A sealed document's copy to hand to a participant without e-mail.
    CopieARemettre,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Urgence {
    EnRetard,
    CetteSemaine,
    AVenir,
}

impl Urgence {
    pub fn libelle(self) -> &'static str {
        match self {
            Urgence::EnRetard => "En retard",
            Urgence::CetteSemaine => "Cette semaine",
            Urgence::AVenir => "À venir",
        }
    }
}

/// The button of a line: a link, or a form posted with the session's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bouton {
    pub libelle: String,
    pub url: String,
    /// True: a form (POST) rather than a link.
    pub formulaire: bool,
}

/// One line of the « à faire » list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Echeance {
    /// The participant's reference; empty on a line of the staff member's own (time sheet).
    pub participant: String,
    pub nom: String,
    pub prenom: String,
    pub action: Action,
    /// What to do, in French, for the line.
    pub libelle: String,
    pub echeance: NaiveDate,
    pub urgence: Urgence,
    pub bouton: Bouton,
}

fn plus_mois(d: NaiveDate, mois: u32) -> NaiveDate {
    d.checked_add_months(Months::new(mois)).unwrap_or(d)
}

fn moins_mois(d: NaiveDate, mois: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(mois)).unwrap_or(d)
}

fn plus_jours(d: NaiveDate, jours: u32) -> NaiveDate {
    d + TimeDelta::days(i64::from(jours))
}

fn jour_fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn debut_du_mois(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn jours_du_mois(d: NaiveDate) -> u32 {
    let debut = debut_du_mois(d);
    (plus_mois(debut, 1) - debut).num_days() as u32
}

/// The k-th of `n` interviews of the month of `d` (k from 1) is due on day ⌈k·days/n⌉.
fn kieme_du_mois(d: NaiveDate, k: u32, n: u32) -> NaiveDate {
    let jours = jours_du_mois(d);
    let jour = (k * jours).div_ceil(n).clamp(1, jours);
    debut_du_mois(d).with_day(jour).unwrap_or(d)
}

/// Emits the lines of one participant into `sortie`.
struct Calcul<'a> {
    r: &'a Regles,
    f: &'a Faits,
    aujourdhui: NaiveDate,
    sortie: &'a mut Vec<Echeance>,
}

impl Calcul<'_> {
    fn urgence(&self, echeance: NaiveDate) -> Urgence {
        if echeance < self.aujourdhui {
            Urgence::EnRetard
        } else if echeance < plus_jours(self.aujourdhui, self.r.urgence.semaine_jours) {
            Urgence::CetteSemaine
        } else {
            Urgence::AVenir
        }
    }

    /// A line, if its due day is near enough: `preavis` days before it (the horizon when none).
    fn ligne(
        &mut self,
        action: Action,
        libelle: String,
        echeance: NaiveDate,
        preavis: Option<u32>,
        bouton: Bouton,
    ) {
        let preavis = preavis.unwrap_or(self.r.urgence.horizon_jours);
        if echeance > plus_jours(self.aujourdhui, preavis) {
            return;
        }
        self.pousser(action, libelle, echeance, bouton);
    }

    /// A line whatever its due day (one whose moment has come).
    fn pousser(&mut self, action: Action, libelle: String, echeance: NaiveDate, bouton: Bouton) {
        self.sortie.push(Echeance {
            participant: self.f.participant.clone(),
            nom: self.f.nom.clone(),
            prenom: self.f.prenom.clone(),
            action,
            libelle,
            echeance,
            urgence: self.urgence(echeance),
            bouton,
        });
    }

    fn dossier(&self, suite: &str) -> String {
        format!("/participants/{}{suite}", self.f.participant)
    }

    fn emarger(&self) -> Bouton {
        Bouton {
            libelle: "Émarger l'entretien".into(),
            url: self.dossier("/nouveau/emargement-individuel"),
            formulaire: false,
        }
    }

    fn deposer(&self, libelle: &str) -> Bouton {
        Bouton {
            libelle: libelle.into(),
            url: self.dossier("/justificatifs"),
            formulaire: false,
        }
    }

    fn piece_depuis(&self, genres: &[String], depuis: NaiveDate) -> bool {
        self.f
            .pieces
            .iter()
            .any(|(g, d)| *d >= depuis && genres.iter().any(|x| x == g))
    }

    /// `n` interviews a month in the month of today: the next one missing, due on its share of
    /// the month.
    fn du_mois(&mut self, action: Action, n: u32, libelle: &str) {
        let debut = debut_du_mois(self.aujourdhui);
        let faits = self
            .f
            .entretiens
            .iter()
            .filter(|d| **d >= debut && **d <= self.aujourdhui)
            .count() as u32;
        if faits < n {
            let k = faits + 1;
            let bouton = self.emarger();
            self.ligne(
                action,
                format!("{libelle} ({k}/{n} ce mois-ci)"),
                kieme_du_mois(self.aujourdhui, k, n),
                None,
                bouton,
            );
        }
    }

    fn en_parcours(&mut self, entree: NaiveDate) {
        let r = self.r;
        let dernier_entretien = self.f.entretiens.iter().max().copied();
        let derniere_etape = self.f.etapes.iter().max().copied();
        let Some(dernier) = dernier_entretien else {
            let bouton = self.emarger();
            self.ligne(
                Action::PremierEntretien,
                "Premier entretien individuel".into(),
                plus_jours(entree, r.premier_entretien.delai_jours),
                None,
                bouton,
            );
            return self.suivi_justifie(entree, None, derniere_etape);
        };
        if entree < debut_du_mois(self.aujourdhui) {
            self.du_mois(
                Action::EntretienDuMois,
                r.entretiens.par_mois,
                "Entretien individuel du mois",
            );
        }
        let bouton = self.emarger();
        self.ligne(
            Action::SansEntretien,
            format!("Aucun entretien depuis le {}", jour_fr(dernier)),
            plus_mois(dernier, r.sans_entretien.mois),
            Some(r.sans_entretien.preavis_jours),
            bouton,
        );
        self.suivi_justifie(entree, Some(dernier), derniere_etape);
        let reference = derniere_etape.unwrap_or(entree).max(entree);
        let bouton = Bouton {
            libelle: "Proposer une étape".into(),
            url: self.dossier("/nouveau/fiche-liaison-positionnement"),
            formulaire: false,
        };
        self.ligne(
            Action::SansEtape,
            match derniere_etape {
                Some(d) => format!("Aucune étape de parcours depuis le {}", jour_fr(d)),
                None => "Aucune étape de parcours depuis l'entrée".into(),
            },
            plus_mois(reference, r.sans_etape.mois),
            Some(r.sans_etape.preavis_jours),
            bouton,
        );
        for &mois in &r.revues.mois {
            let due = plus_mois(entree, mois);
            if !self.piece_depuis(&r.revues.preuves, due - TimeDelta::days(90)) {
                let bouton = self.deposer("Déposer la décision");
                self.ligne(
                    Action::Revue,
                    format!("Revue du parcours à {mois} mois (avis de la commission)"),
                    due,
                    Some(r.revues.preavis_jours),
                    bouton,
                );
            }
        }
        self.perte_de_contact(dernier);
    }

    fn suivi_justifie(
        &mut self,
        entree: NaiveDate,
        entretien: Option<NaiveDate>,
        etape: Option<NaiveDate>,
    ) {
        let r = self.r;
        let dernier = [Some(entree), entretien, etape]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(entree);
        let due = plus_mois(dernier, r.suivi_justifie.mois);
        let libelle = if due < self.aujourdhui {
            format!(
                "Sans suivi justifié depuis le {} : ne compte plus en parcours",
                jour_fr(dernier)
            )
        } else {
            format!(
                "Suivi à justifier avant {} mois sans suivi (dernier le {})",
                r.suivi_justifie.mois,
                jour_fr(dernier)
            )
        };
        let bouton = self.emarger();
        self.ligne(
            Action::SuiviJustifie,
            libelle,
            due,
            Some(r.suivi_justifie.preavis_jours),
            bouton,
        );
    }

    fn perte_de_contact(&mut self, dernier_entretien: NaiveDate) {
        let regles = self.r;
        let r = &regles.perte_de_contact;
        let mut absences: Vec<NaiveDate> = self
            .f
            .absences
            .iter()
            .filter(|a| !a.excusee && a.jour > dernier_entretien)
            .map(|a| a.jour)
            .collect();
        absences.sort();
        let mut relances: Vec<NaiveDate> = self
            .f
            .relances_sans_reponse
            .iter()
            .copied()
            .filter(|d| *d > dernier_entretien)
            .collect();
        relances.sort();
        let par_absences = absences.get(r.absences as usize - 1).copied();
        let par_relances = relances.get(r.relances as usize - 1).copied();
        let (due, motif) = match (par_absences, par_relances) {
            (Some(a), Some(b)) if b < a => {
                (b, format!("{} relances écrites sans réponse", r.relances))
            }
            (Some(a), _) => (a, format!("{} absences injustifiées", r.absences)),
            (None, Some(b)) => (b, format!("{} relances écrites sans réponse", r.relances)),
            (None, None) => return,
        };
        let bouton = Bouton {
            libelle: "Préparer la fiche de sortie".into(),
            url: self.dossier("/nouveau/fiche-liaison-sortie"),
            formulaire: false,
        };
        self.ligne(
            Action::PerteDeContact,
            format!("Proposer une sortie pour perte de contact à la commission ({motif})"),
            due,
            None,
            bouton,
        );
    }

    fn questionnaire_a(&self, moment: &str, libelle: &str) -> Bouton {
        Bouton {
            libelle: libelle.into(),
            url: self.dossier(&format!("/questionnaire/{moment}")),
            formulaire: false,
        }
    }

    /// The FSE questionnaire: at entry, with the contrat (due on the entry day); after an exit,
    /// the exit data within the definition's delay (reminders, then late), and the situation
    /// six months after, shown from the horizon before it comes due to the window's last day.
    fn questionnaire(&mut self) {
        let f = self.f;
        let Some(q) = &f.questionnaire else { return };
        if let (Some(entree), None) = (f.date_entree, q.entree) {
            if entree <= self.aujourdhui {
                let bouton = self.questionnaire_a("entree", "Remplir le questionnaire");
                self.pousser(
                    Action::QuestionnaireEntree,
                    "Questionnaire FSE d'entrée à recueillir (avec le contrat)".into(),
                    entree,
                    bouton,
                );
            }
        }
        let Some(sortie) = f.date_sortie.filter(|s| *s <= self.aujourdhui) else {
            return;
        };
        if q.sortie.is_none() {
            let e = echeance_sortie(&q.delais, sortie, None, self.aujourdhui);
            let libelle = match e.etat {
                EtatSortie::EnRetard => format!(
                    "Données de sortie du questionnaire FSE en retard (dues au plus tard le {})",
                    jour_fr(e.limite)
                ),
                EtatSortie::Relance => format!(
                    "Relance : données de sortie du questionnaire FSE à recueillir avant le {}",
                    jour_fr(e.limite)
                ),
                _ => format!(
                    "Données de sortie du questionnaire FSE à recueillir avant le {} (sortie le {})",
                    jour_fr(e.limite),
                    jour_fr(sortie)
                ),
            };
            let bouton = self.questionnaire_a("sortie", "Recueillir les données de sortie");
            self.pousser(Action::QuestionnaireSortie, libelle, e.limite, bouton);
        }
        if q.six_mois.is_none() {
            let e = echeance_six_mois(&q.delais, sortie, None, self.aujourdhui);
            if e.due <= plus_jours(self.aujourdhui, self.r.urgence.horizon_jours) {
                let bouton = self.questionnaire_a("six_mois", "Recueillir la situation");
                self.pousser(
                    Action::QuestionnaireSixMois,
                    format!(
                        "Situation six mois après la sortie (questionnaire FSE) à recueillir du {} au {}",
                        jour_fr(e.due),
                        jour_fr(e.limite)
                    ),
                    e.limite,
                    bouton,
                );
            }
        }
    }

    fn sorti(&mut self, sortie: NaiveDate) {
        let r = self.r;
        let depuis_entree = self.f.date_entree.unwrap_or(sortie);
        if !self.piece_depuis(&r.preuve_sortie.preuves, depuis_entree) {
            let bouton = self.deposer("Déposer la preuve");
            self.ligne(
                Action::PreuveSortie,
                "Preuve de la sortie".into(),
                plus_jours(sortie, r.preuve_sortie.delai_jours),
                None,
                bouton,
            );
        }
        let motif = self.f.motif_sortie.as_deref().unwrap_or_default();
        if !parafe_fse::sortie_positive(motif, &r.suivi_emploi.motifs) {
            return;
        }
        let fin = plus_mois(sortie, r.suivi_emploi.mois);
        if self.aujourdhui < fin && debut_du_mois(sortie) < debut_du_mois(self.aujourdhui) {
            self.du_mois(
                Action::EntretienDansLEmploi,
                r.suivi_emploi.entretiens_par_mois,
                "Entretien de suivi dans l'emploi",
            );
        }
        if !self.piece_depuis(&r.suivi_emploi.preuves, moins_mois(fin, 1)) {
            let bouton = self.deposer("Déposer la preuve");
            self.ligne(
                Action::SortiePositive,
                format!(
                    "Confirmer la sortie positive : {} mois dans l'emploi (bulletin du dernier mois ou certificat de travail)",
                    r.suivi_emploi.mois
                ),
                fin,
                Some(r.suivi_emploi.preavis_jours),
                bouton,
            );
        }
    }

    fn bilans(&mut self) {
        let f = self.f;
        for b in &f.bilans {
            let libelle = match b.bilan.as_str() {
                "sortie" => "Bilan BRSA de sortie".to_owned(),
                m => format!("Bilan BRSA à {m} mois"),
            };
            let bouton = match &b.document {
                None => Bouton {
                    libelle: "Rédiger le bilan".into(),
                    url: self.dossier(&format!("/bilans/{}", b.bilan)),
                    formulaire: true,
                },
                Some((reference, etat)) => Bouton {
                    libelle: if etat == "brouillon" {
                        "Rédiger le bilan".into()
                    } else {
                        "Faire signer le bilan".into()
                    },
                    url: format!("/documents/{reference}"),
                    formulaire: false,
                },
            };
            self.ligne(Action::BilanBrsa, libelle, b.echeance, None, bouton);
        }
    }
}

/// The actions due for these participants on `aujourdhui`, most urgent first (late, this week,
/// coming; by due day, then name).
pub fn echeances(regles: &Regles, faits: &[Faits], aujourdhui: NaiveDate) -> Vec<Echeance> {
    let mut sortie = Vec::new();
    for f in faits {
        let mut c = Calcul {
            r: regles,
            f,
            aujourdhui,
            sortie: &mut sortie,
        };
        match (f.date_entree, f.date_sortie) {
            (_, Some(s)) if s <= aujourdhui => c.sorti(s),
            (Some(e), _) if e <= aujourdhui => c.en_parcours(e),
            _ => {}
        }
        c.questionnaire();
        c.bilans();
    }
    trier(&mut sortie);
    sortie
}

/// Most urgent first: late, this week, coming; by due day, then name.
pub fn trier(lignes: &mut [Echeance]) {
    lignes.sort_by(|a, b| {
        (
            a.urgence,
            a.echeance,
            &a.nom,
            &a.prenom,
            &a.participant,
            a.action,
        )
            .cmp(&(
                b.urgence,
                b.echeance,
                &b.nom,
                &b.prenom,
                &b.participant,
                b.action,
            ))
    });
}

/// The coordinateur's count for one référent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Charge {
    /// Participants of the portfolio in parcours (entered, not exited) on the day.
    pub en_parcours: usize,
    /// Participants with at least one late action, and late actions.
    pub participants_en_retard: usize,
    pub en_retard: usize,
    pub cette_semaine: usize,
}

/// A référent's load from his portfolio's facts.
pub fn charge(regles: &Regles, faits: &[Faits], aujourdhui: NaiveDate) -> Charge {
    let lignes = echeances(regles, faits, aujourdhui);
    let mut en_retard: Vec<&str> = lignes
        .iter()
        .filter(|l| l.urgence == Urgence::EnRetard)
        .map(|l| l.participant.as_str())
        .collect();
    en_retard.sort_unstable();
    en_retard.dedup();
    Charge {
        en_parcours: faits
            .iter()
            .filter(|f| {
                f.date_entree.is_some_and(|e| e <= aujourdhui)
                    && f.date_sortie.is_none_or(|s| s > aujourdhui)
            })
            .count(),
        participants_en_retard: en_retard.len(),
        en_retard: lignes
            .iter()
            .filter(|l| l.urgence == Urgence::EnRetard)
            .count(),
        cette_semaine: lignes
            .iter()
            .filter(|l| l.urgence == Urgence::CetteSemaine)
            .count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn js(v: &[&str]) -> Vec<NaiveDate> {
        v.iter().map(|s| j(s)).collect()
    }

    fn defaut() -> Regles {
        Regles::par_defaut().unwrap()
    }

    /// Seed 002's rules laid over the defaults: one interview a month, reviews at 3 years only.
    fn rouen() -> Regles {
        Regles::lire(&[(
            "[entretiens]\npar_mois = 1\n[revues]\nmois = [36]\n[perte_de_contact]\nabsences = 3\n",
            "suivi/rouen.toml",
        )])
        .unwrap()
    }

    fn faits(entree: &str) -> Faits {
        Faits {
            participant: "p1".into(),
            nom: "Benali".into(),
            prenom: "Samira".into(),
            date_entree: Some(j(entree)),
            ..Faits::default()
        }
    }

    /// (action, due day, urgency) of the lines.
    fn lignes(r: &Regles, f: &Faits, au: &str) -> Vec<(Action, NaiveDate, Urgence)> {
        echeances(r, std::slice::from_ref(f), j(au))
            .into_iter()
            .map(|e| (e.action, e.echeance, e.urgence))
            .collect()
    }

    fn de(r: &Regles, f: &Faits, au: &str, action: Action) -> Vec<(NaiveDate, Urgence)> {
        lignes(r, f, au)
            .into_iter()
            .filter(|l| l.0 == action)
            .map(|l| (l.1, l.2))
            .collect()
    }

    #[test]
    fn les_valeurs_par_defaut_sont_celles_des_cahiers_des_charges() {
        let r = defaut();
        assert_eq!(r.premier_entretien.delai_jours, 15);
        assert_eq!(r.entretiens.par_mois, 2);
        assert_eq!((r.sans_entretien.mois, r.sans_etape.mois), (2, 2));
        assert_eq!(r.suivi_justifie.mois, 6);
        assert_eq!(r.revues.mois, vec![18, 36]);
        assert_eq!(
            (r.suivi_emploi.mois, r.suivi_emploi.entretiens_par_mois),
            (6, 1)
        );
        assert_eq!(
            (r.perte_de_contact.absences, r.perte_de_contact.relances),
            (2, 2)
        );
        let o = rouen();
        assert_eq!(o.entretiens.par_mois, 1);
        assert_eq!(o.revues.mois, vec![36]);
        assert_eq!(o.perte_de_contact.absences, 3);
        // Untouched keys keep the defaults.
        assert_eq!(
            (o.perte_de_contact.relances, o.revues.preavis_jours),
            (2, 30)
        );
        assert_eq!(o.source, "suivi/rouen.toml");
    }

    #[test]
    fn une_surcharge_fautive_est_refusee_avec_son_fichier() {
        let e = Regles::lire(&[("[entretiens]\npar_mois = 0\n", "suivi/x.toml")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("suivi/x.toml") && e.contains("par_mois"), "{e}");
        let e = Regles::lire(&[("[entretiens]\nparmois = 1\n", "suivi/y.toml")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("suivi/y.toml") && e.contains("parmois"), "{e}");
    }

    #[test]
    fn premier_entretien_dans_les_15_jours_de_l_entree() {
        let r = defaut();
        let f = faits("2025-06-10");
        let due = j("2025-06-25");
        assert_eq!(
            de(&r, &f, "2025-06-10", Action::PremierEntretien),
            [(due, Urgence::AVenir)]
        );
        assert_eq!(
            de(&r, &f, "2025-06-19", Action::PremierEntretien),
            [(due, Urgence::CetteSemaine)]
        );
        assert_eq!(
            de(&r, &f, "2025-06-25", Action::PremierEntretien),
            [(due, Urgence::CetteSemaine)]
        );
        assert_eq!(
            de(&r, &f, "2025-06-26", Action::PremierEntretien),
            [(due, Urgence::EnRetard)]
        );
        // Nothing else before the first interview: the month's interviews wait for it.
        assert_eq!(lignes(&r, &f, "2025-06-26").len(), 1);
        let mut vu = f.clone();
        vu.entretiens = js(&["2025-06-20"]);
        assert!(de(&r, &vu, "2025-06-26", Action::PremierEntretien).is_empty());
        // Not entered yet, or no entry date: nothing.
        assert!(lignes(&r, &f, "2025-06-09").is_empty());
        assert!(lignes(
            &r,
            &Faits {
                date_entree: None,
                ..f
            },
            "2025-06-26"
        )
        .is_empty());
    }

    #[test]
    fn deux_entretiens_par_mois_par_defaut_un_a_rouen() {
        let (r, o) = (defaut(), rouen());
        let mut f = faits("2025-03-03");
        f.entretiens = js(&["2025-05-20"]);
        // June, none yet: the first due on the 15th, the second on the 30th.
        assert_eq!(
            de(&r, &f, "2025-06-10", Action::EntretienDuMois),
            [(j("2025-06-15"), Urgence::CetteSemaine)]
        );
        assert_eq!(
            de(&r, &f, "2025-06-16", Action::EntretienDuMois),
            [(j("2025-06-15"), Urgence::EnRetard)]
        );
        assert_eq!(
            de(&o, &f, "2025-06-16", Action::EntretienDuMois),
            [(j("2025-06-30"), Urgence::AVenir)]
        );
        f.entretiens.push(j("2025-06-12"));
        assert_eq!(
            de(&r, &f, "2025-06-16", Action::EntretienDuMois),
            [(j("2025-06-30"), Urgence::AVenir)]
        );
        assert!(de(&o, &f, "2025-06-16", Action::EntretienDuMois).is_empty());
        f.entretiens.push(j("2025-06-16"));
        assert!(de(&r, &f, "2025-06-16", Action::EntretienDuMois).is_empty());
        // February (28 days): the 14th and the 28th.
        let mut g = faits("2025-01-06");
        g.entretiens = js(&["2025-01-20"]);
        assert_eq!(
            de(&r, &g, "2025-02-03", Action::EntretienDuMois),
            [(j("2025-02-14"), Urgence::AVenir)]
        );
        // The month of entry counts no monthly interview.
        let mut h = faits("2025-06-02");
        h.entretiens = js(&["2025-06-05"]);
        assert!(de(&r, &h, "2025-06-20", Action::EntretienDuMois).is_empty());
    }

    #[test]
    fn alerte_a_deux_mois_sans_entretien_ni_etape() {
        let r = defaut();
        let mut f = faits("2025-01-06");
        f.entretiens = js(&["2025-04-10"]);
        f.etapes = js(&["2025-05-02"]);
        // Interview: due 10/06, shown 14 days before.
        assert!(de(&r, &f, "2025-05-26", Action::SansEntretien).is_empty());
        assert_eq!(
            de(&r, &f, "2025-05-27", Action::SansEntretien),
            [(j("2025-06-10"), Urgence::AVenir)]
        );
        assert_eq!(
            de(&r, &f, "2025-06-11", Action::SansEntretien),
            [(j("2025-06-10"), Urgence::EnRetard)]
        );
        // Étape: due 02/07.
        assert!(de(&r, &f, "2025-06-17", Action::SansEtape).is_empty());
        assert_eq!(
            de(&r, &f, "2025-06-30", Action::SansEtape),
            [(j("2025-07-02"), Urgence::CetteSemaine)]
        );
        // No étape since entry: counted from the entry.
        f.etapes.clear();
        assert_eq!(
            de(&r, &f, "2025-06-30", Action::SansEtape),
            [(j("2025-03-06"), Urgence::EnRetard)]
        );
        // An override: 3 months.
        let o = Regles::lire(&[("[sans_entretien]\nmois = 3\n", "o.toml")]).unwrap();
        assert_eq!(
            de(&o, &f, "2025-07-01", Action::SansEntretien),
            [(j("2025-07-10"), Urgence::AVenir)]
        );
    }

    #[test]
    fn six_mois_sans_suivi_justifie_la_personne_ne_compte_plus() {
        let (r, o) = (defaut(), rouen());
        let mut f = faits("2024-09-02");
        f.entretiens = js(&["2024-12-05"]);
        f.etapes = js(&["2025-01-15"]);
        let due = j("2025-07-15");
        assert!(de(&r, &f, "2025-06-14", Action::SuiviJustifie).is_empty());
        assert_eq!(
            de(&r, &f, "2025-06-15", Action::SuiviJustifie),
            [(due, Urgence::AVenir)]
        );
        assert_eq!(
            de(&o, &f, "2025-07-10", Action::SuiviJustifie),
            [(due, Urgence::CetteSemaine)]
        );
        let l = echeances(&r, std::slice::from_ref(&f), j("2025-07-16"));
        let l = l
            .iter()
            .find(|e| e.action == Action::SuiviJustifie)
            .unwrap();
        assert_eq!(l.urgence, Urgence::EnRetard);
        assert!(l.libelle.contains("ne compte plus"), "{}", l.libelle);
        // Without any interview: counted from the entry (or a later étape) all the same.
        let g = faits("2025-01-10");
        assert_eq!(
            de(&r, &g, "2025-06-20", Action::SuiviJustifie),
            [(j("2025-07-10"), Urgence::AVenir)]
        );
    }

    #[test]
    fn revues_a_18_mois_et_3_ans() {
        let (r, o) = (defaut(), rouen());
        let mut f = faits("2024-01-15");
        f.entretiens = js(&["2025-06-02", "2025-06-10"]);
        f.etapes = js(&["2025-06-01"]);
        assert_eq!(
            de(&r, &f, "2025-06-16", Action::Revue),
            [(j("2025-07-15"), Urgence::AVenir)]
        );
        assert!(
            de(&o, &f, "2025-06-16", Action::Revue).is_empty(),
            "Rouen : 3 ans seulement"
        );
        assert_eq!(
            de(&r, &f, "2025-07-16", Action::Revue),
            [(j("2025-07-15"), Urgence::EnRetard)]
        );
        // The commission's decision filed: done.
        f.pieces
            .push(("decision-commission".into(), j("2025-07-01")));
        assert!(de(&r, &f, "2025-07-16", Action::Revue).is_empty());
        // Three years.
        let mut g = faits("2022-07-01");
        g.entretiens = js(&["2025-06-02", "2025-06-10"]);
        g.etapes = js(&["2025-06-01"]);
        g.pieces
            .push(("decision-commission".into(), j("2024-01-05")));
        assert_eq!(
            de(&r, &g, "2025-06-16", Action::Revue),
            [(j("2025-07-01"), Urgence::AVenir)]
        );
        assert_eq!(
            de(&o, &g, "2025-06-16", Action::Revue),
            [(j("2025-07-01"), Urgence::AVenir)]
        );
    }

    #[test]
    fn suivi_six_mois_apres_l_embauche_et_sortie_positive_confirmee_ensuite() {
        let r = defaut();
        let mut f = faits("2024-06-03");
        f.date_sortie = Some(j("2025-02-14"));
        f.motif_sortie = Some("Emploi durable (CDI)".into());
        f.entretiens = js(&["2025-02-10", "2025-05-06"]);
        f.pieces.push(("contrat-travail".into(), j("2025-02-14")));
        // June: May's interview does not count; one is due by the end of the month.
        assert_eq!(
            de(&r, &f, "2025-06-16", Action::EntretienDansLEmploi),
            [(j("2025-06-30"), Urgence::AVenir)]
        );
        f.entretiens.push(j("2025-06-03"));
        assert!(de(&r, &f, "2025-06-16", Action::EntretienDansLEmploi).is_empty());
        assert_eq!(
            de(&r, &f, "2025-07-16", Action::EntretienDansLEmploi),
            [(j("2025-07-31"), Urgence::AVenir)]
        );
        // Follow-up ends at 6 months: none in August after the 14th.
        assert!(de(&r, &f, "2025-08-16", Action::EntretienDansLEmploi).is_empty());
        // The positive exit: proof due 14/08, shown 30 days before, done by the payslip.
        assert!(de(&r, &f, "2025-07-14", Action::SortiePositive).is_empty());
        assert_eq!(
            de(&r, &f, "2025-07-16", Action::SortiePositive),
            [(j("2025-08-14"), Urgence::AVenir)]
        );
        assert_eq!(
            de(&r, &f, "2025-08-20", Action::SortiePositive),
            [(j("2025-08-14"), Urgence::EnRetard)]
        );
        f.pieces.push(("bulletin-salaire".into(), j("2025-08-01")));
        assert!(de(&r, &f, "2025-08-20", Action::SortiePositive).is_empty());
        // Not a hiring: no follow-up in employment, the exit's proof only.
        let mut g = f.clone();
        g.motif_sortie = Some("Déménagement".into());
        g.pieces.clear();
        assert_eq!(
            lignes(&r, &g, "2025-03-20"),
            [(Action::PreuveSortie, j("2025-03-14"), Urgence::EnRetard)]
        );
        // An override of the hiring motives and duration.
        let o = Regles::lire(&[(
            "[suivi_emploi]\nmois = 3\nmotifs = [\"déménagement\"]\n",
            "o.toml",
        )])
        .unwrap();
        assert_eq!(
            de(&o, &g, "2025-05-01", Action::SortiePositive),
            [(j("2025-05-14"), Urgence::AVenir)]
        );
    }

    #[test]
    fn deux_absences_injustifiees_ou_deux_relances_proposent_une_sortie_pour_perte_de_contact() {
        let (r, o) = (defaut(), rouen());
        let mut f = faits("2025-01-06");
        f.entretiens = js(&["2025-05-05"]);
        f.absences = vec![
            Absence {
                jour: j("2025-04-20"),
                excusee: false,
            }, // before the last interview
            Absence {
                jour: j("2025-05-12"),
                excusee: false,
            },
            Absence {
                jour: j("2025-05-19"),
                excusee: true,
            },
        ];
        assert!(de(&r, &f, "2025-06-02", Action::PerteDeContact).is_empty());
        f.absences.push(Absence {
            jour: j("2025-06-02"),
            excusee: false,
        });
        let l = echeances(&r, std::slice::from_ref(&f), j("2025-06-03"));
        let l = l
            .iter()
            .find(|e| e.action == Action::PerteDeContact)
            .unwrap();
        assert_eq!(
            (l.echeance, l.urgence),
            (j("2025-06-02"), Urgence::EnRetard)
        );
        assert!(
            l.libelle.contains("perte de contact à la commission")
                && l.libelle.contains("2 absences"),
            "{}",
            l.libelle
        );
        assert_eq!(
            l.bouton.url,
            "/participants/p1/nouveau/fiche-liaison-sortie"
        );
        // Rouen's override: 3 absences.
        assert!(de(&o, &f, "2025-06-03", Action::PerteDeContact).is_empty());
        // Two written reminders unanswered, whichever came first.
        f.relances_sans_reponse = js(&["2025-05-20", "2025-05-27"]);
        assert_eq!(
            de(&r, &f, "2025-06-03", Action::PerteDeContact),
            [(j("2025-05-27"), Urgence::EnRetard)]
        );
        assert_eq!(
            de(&o, &f, "2025-06-03", Action::PerteDeContact),
            [(j("2025-05-27"), Urgence::EnRetard)]
        );
        // An interview since: contact is back.
        f.entretiens.push(j("2025-06-03"));
        assert!(de(&r, &f, "2025-06-04", Action::PerteDeContact).is_empty());
    }

    #[test]
    fn questionnaire_fse_a_l_entree_puis_sortie_en_4_semaines_et_six_mois_apres() {
        let r = defaut();
        let delais = Arc::new(
            parafe_fse::Questionnaire::embarque("fse-plus-2021-2027")
                .unwrap()
                .delais,
        );
        let mut f = faits("2025-01-06");
        f.questionnaire = Some(QuestionnaireFse {
            delais,
            entree: None,
            sortie: None,
            six_mois: None,
        });
        // Due with the entry: late the next day.
        assert_eq!(
            de(&r, &f, "2025-01-06", Action::QuestionnaireEntree),
            [(j("2025-01-06"), Urgence::CetteSemaine)]
        );
        assert_eq!(
            de(&r, &f, "2025-01-07", Action::QuestionnaireEntree),
            [(j("2025-01-06"), Urgence::EnRetard)]
        );
        // Without co-funding, no questionnaire.
        let sans = Faits {
            questionnaire: None,
            ..f.clone()
        };
        assert!(de(&r, &sans, "2025-01-07", Action::QuestionnaireEntree).is_empty());
        // Exit on 2 June: 28 days, this week from the 24th, late on 1 July.
        f.date_sortie = Some(j("2025-06-02"));
        assert_eq!(
            de(&r, &f, "2025-06-02", Action::QuestionnaireSortie),
            [(j("2025-06-30"), Urgence::AVenir)]
        );
        assert_eq!(
            de(&r, &f, "2025-06-30", Action::QuestionnaireSortie),
            [(j("2025-06-30"), Urgence::CetteSemaine)]
        );
        assert_eq!(
            de(&r, &f, "2025-07-01", Action::QuestionnaireSortie),
            [(j("2025-06-30"), Urgence::EnRetard)]
        );
        // Six months: due 2 December, shown 30 days before, to collect by 30 December.
        assert!(de(&r, &f, "2025-11-01", Action::QuestionnaireSixMois).is_empty());
        assert_eq!(
            de(&r, &f, "2025-11-02", Action::QuestionnaireSixMois),
            [(j("2025-12-30"), Urgence::AVenir)]
        );
        assert_eq!(
            de(&r, &f, "2025-12-31", Action::QuestionnaireSixMois),
            [(j("2025-12-30"), Urgence::EnRetard)]
        );
        // Collected: no line.
        if let Some(q) = f.questionnaire.as_mut() {
            q.entree = Some(j("2025-01-06"));
            q.sortie = Some(j("2025-06-10"));
            q.six_mois = Some(j("2025-12-05"));
        }
        let lignes = lignes(&r, &f, "2025-12-31");
        assert!(
            lignes.iter().all(|l| !matches!(
                l.0,
                Action::QuestionnaireEntree
                    | Action::QuestionnaireSortie
                    | Action::QuestionnaireSixMois
            )),
            "{lignes:?}"
        );
    }

    #[test]
    fn la_preuve_de_sortie_est_celle_du_catalogue() {
        let r = defaut();
        assert_eq!(r.preuve_sortie.delai_jours, 28);
        assert!(r
            .preuve_sortie
            .preuves
            .contains(&"bulletin-salaire".to_owned()));
        let e = Regles::lire(&[("[preuve_sortie]\nexigence = \"inconnue\"\n", "suivi/x.toml")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("suivi/x.toml") && e.contains("« inconnue »"),
            "{e}"
        );
    }

    #[test]
    fn bilans_brsa_et_ordre_de_la_liste() {
        let r = defaut();
        let mut f = faits("2025-01-06");
        f.entretiens = js(&["2025-06-02", "2025-06-10"]);
        f.etapes = js(&["2025-06-01"]);
        f.bilans = vec![
            BilanDu {
                bilan: "5".into(),
                echeance: j("2025-06-01"),
                document: Some(("d5".into(), "envoye".into())),
            },
            BilanDu {
                bilan: "11".into(),
                echeance: j("2025-12-01"),
                document: None,
            },
        ];
        let mut g = faits("2025-01-06");
        g.participant = "p2".into();
        g.nom = "Abel".into();
        g.entretiens = js(&["2025-06-03", "2025-06-11"]);
        g.etapes = js(&["2025-06-01"]);
        g.bilans = vec![BilanDu {
            bilan: "5".into(),
            echeance: j("2025-06-20"),
            document: None,
        }];
        let l = echeances(&r, &[f, g], j("2025-06-16"));
        let vu: Vec<_> = l
            .iter()
            .map(|e| {
                (
                    e.participant.as_str(),
                    e.urgence,
                    e.echeance,
                    e.bouton.url.as_str(),
                    e.bouton.formulaire,
                )
            })
            .collect();
        assert_eq!(
            vu,
            [
                (
                    "p1",
                    Urgence::EnRetard,
                    j("2025-06-01"),
                    "/documents/d5",
                    false
                ),
                (
                    "p2",
                    Urgence::CetteSemaine,
                    j("2025-06-20"),
                    "/participants/p2/bilans/5",
                    true
                ),
            ]
        );
        let c = charge(
            &r,
            &[faits("2025-06-01"), faits("2025-07-01")],
            j("2025-06-20"),
        );
        assert_eq!(
            c,
            Charge {
                en_parcours: 1,
                participants_en_retard: 1,
                en_retard: 1,
                cette_semaine: 0
            }
        );
    }
}
