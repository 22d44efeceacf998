//! The PLIE's figures of an opération over a period ([`parafe_fse::chiffres`] on the rows of
//! [`crate::db::chiffres`]): computed from the database each time, so the same period gives
//! the same figures. Need-to-know: the coordinateur and the administrateur see everything; an
//! assistant the counts, and who is behind them except for an indicator resting on a sensitive
//! question; a référent is refused (his portfolio's figures would be a partial report under
//! the opération's name). Listing the participants behind an indicator reads their answers:
//! journaled as a questionnaire read per participant listed.

use super::{App, Erreur};
use crate::auth::{Acteur, Refus};
use crate::db::chiffres as lignes;
use crate::db::referentiel::Operation;
use crate::questionnaire::{definition, Saisie};
use crate::roles::RolePersonnel;
use chrono::{Datelike, NaiveDate};
use parafe_core::model::JournalEvent;
pub use parafe_fse::{nom_du_mois, Chiffres, Compte, Motif, Periode, Preset};
use parafe_fse::{Reponses, Suivi};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The period asked, as a query string gives it (`?periode=31-mai&annee=2025`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Demande {
    /// A preset's code; `annee` when absent.
    pub periode: Option<String>,
    /// The service's year when absent.
    pub annee: Option<String>,
}

impl Demande {
    /// The same period in a link's query string.
    pub fn requete(p: &Periode) -> String {
        format!("periode={}&annee={}", p.preset.code(), p.annee)
    }
}

/// The period asked of opération `operation` (the final bilan starts with it).
fn periode(app: &App, operation: &Operation, d: &Demande) -> Result<Periode, Erreur> {
    let code = d.periode.as_deref().unwrap_or(Preset::Annee.code());
    let preset = Preset::depuis_code(code).ok_or_else(|| {
        Erreur::invalide(
            "periode",
            format!(
                "période « {code} » inconnue : {}",
                Preset::TOUS.map(Preset::code).join(", ")
            ),
        )
    })?;
    let annee = match d.annee.as_deref().map(str::trim) {
        None | Some("") => app.horloge.aujourdhui().year(),
        Some(a) => a
            .parse::<i32>()
            .ok()
            .filter(|a| (2000..=2100).contains(a))
            .ok_or_else(|| Erreur::invalide("annee", format!("année « {a} » : de 2000 à 2100")))?,
    };
    Periode::de(preset, annee, operation.debut)
        .ok_or_else(|| Erreur::invalide("annee", format!("année {annee} impossible")))
}

/// The months a staff member has no signed time sheet for.
#[derive(Debug, Clone, Serialize)]
pub struct FeuillesManquantes {
    pub personnel: i64,
    pub nom: String,
    pub prenom: String,
    pub mois: Vec<NaiveDate>,
}

/// An opération's figures as the caller may see them.
#[derive(Debug, Clone, Serialize)]
pub struct Tableau {
    pub operation: String,
    pub intitule: String,
    /// The service's day: months still running owe no time sheet yet.
    pub au: NaiveDate,
    #[serde(flatten)]
    pub chiffres: Chiffres,
    /// Only staff members missing some.
    pub feuilles_temps: Vec<FeuillesManquantes>,
    /// Whether the caller may open the list behind a sensitive indicator.
    #[serde(skip)]
    pub lit_les_sensibles: bool,
    #[serde(skip)]
    participants: BTreeMap<String, lignes::Participant>,
}

impl Tableau {
    /// Whether the caller may open the list behind `c`.
    pub fn liste_permise(&self, c: &Compte) -> bool {
        !c.sensible || self.lit_les_sensibles
    }
}

fn autorise(acteur: &Acteur) -> Result<(), Erreur> {
    match acteur.role {
        RolePersonnel::Coordinateur | RolePersonnel::Admin | RolePersonnel::Assistant => Ok(()),
        RolePersonnel::Referent => Err(Erreur::Interdit(format!(
            "{} : les chiffres d'une opération sont ceux du coordinateur, de l'administrateur et de l'assistante",
            Refus::Interdit
        ))),
    }
}

fn reponses(json: Option<&str>, r: &mut Reponses) -> Result<(), Erreur> {
    if let Some(json) = json {
        for (id, x) in serde_json::from_str::<Saisie>(json)? {
            r.inserer(id, x);
        }
    }
    Ok(())
}

/// The figures of opération `numero` over the period asked.
pub async fn tableau(
    app: &App,
    acteur: &Acteur,
    numero: &str,
    demande: &Demande,
) -> Result<Tableau, Erreur> {
    // Boxed, as the journal's write in `liste`: nested whole in a handler's state machine,
    // they took it past the compiler's depth limit.
    Box::pin(calculer(app, acteur, numero, demande)).await
}

async fn calculer(
    app: &App,
    acteur: &Acteur,
    numero: &str,
    demande: &Demande,
) -> Result<Tableau, Erreur> {
    autorise(acteur)?;
    let plie = acteur.plie.as_str();
    let operation = crate::operations::de_numero(app, plie, numero).await?;
    let q = definition(app, &operation)?;
    let periode = periode(app, &operation, demande)?;
    let regles = crate::a_faire::regles(
        app,
        acteur,
        &crate::justificatif::Catalogue::charger(&app.config.data_dir, &acteur.plie)?,
    )?;
    let (du, au) = (periode.du, periode.au);
    let rangees = lignes::participants(&app.db, plie, operation.id, du, au).await?;
    let mut suivis = Vec::with_capacity(rangees.len());
    for l in &rangees {
        let mut r = Reponses::new();
        for moment in [&l.entree, &l.sortie, &l.six_mois] {
            reponses(moment.as_deref(), &mut r)?;
        }
        suivis.push(Suivi {
            participant: parafe_fse::Participant {
                reference: l.reference.clone(),
                referent: String::new(),
                operation: parafe_fse::Operation {
                    numero: operation.code.clone(),
                    nom: operation.intitule.clone(),
                },
                parcours: parafe_fse::Parcours {
                    entree: l.date_entree,
                    sortie: l.date_sortie,
                },
                reponses: r,
            },
            motif_sortie: l.motif_sortie.clone(),
            entree_recueillie: l.entree.is_some(),
            sortie_recueillie: l.sortie.is_some(),
        });
    }
    let chiffres = parafe_fse::chiffres(&q, periode, suivis, &regles.suivi_emploi.motifs);

    let aujourdhui = app.horloge.aujourdhui();
    let mut signes: BTreeMap<i64, BTreeSet<NaiveDate>> = BTreeMap::new();
    for (qui, debut) in lignes::feuilles_signees(&app.db, plie, operation.id, du, au).await? {
        if let Some(d) = crate::db::parse_jour(&debut) {
            signes
                .entry(qui)
                .or_default()
                .insert(d.with_day(1).unwrap_or(d));
        }
    }
    let feuilles_temps = lignes::personnel(&app.db, plie, operation.id, du, au)
        .await?
        .into_iter()
        .filter_map(|p| {
            let aucun = BTreeSet::new();
            let mois = parafe_fse::mois_sans_feuille(
                &periode,
                aujourdhui,
                signes.get(&p.id).unwrap_or(&aucun),
            );
            (!mois.is_empty()).then_some(FeuillesManquantes {
                personnel: p.id,
                nom: p.nom,
                prenom: p.prenom,
                mois,
            })
        })
        .collect();

    Ok(Tableau {
        operation: operation.code,
        intitule: operation.intitule,
        au: aujourdhui,
        chiffres,
        feuilles_temps,
        lit_les_sensibles: acteur.role != RolePersonnel::Assistant,
        participants: rangees
            .into_iter()
            .map(|l| (l.reference.clone(), l))
            .collect(),
    })
}

/// The participants behind count `code` of the figures, by name. An indicator's list
/// (a read of answers) is refused to an assistant when sensitive, and journaled.
pub async fn liste(
    app: &App,
    acteur: &Acteur,
    tableau: &Tableau,
    code: &str,
) -> Result<(Compte, Vec<lignes::Participant>), Erreur> {
    let compte = tableau.chiffres.compte(code).cloned().ok_or_else(|| {
        Erreur::Introuvable(format!("aucun chiffre « {code} » pour cette période"))
    })?;
    if !tableau.liste_permise(&compte) {
        return Err(Erreur::Interdit(format!(
            "« {} » repose sur une réponse sensible : le nombre seulement, la liste est réservée au coordinateur et à l'administrateur",
            compte.libelle
        )));
    }
    let indicateur = tableau.chiffres.indicateurs.iter().any(|i| i.code == code);
    if indicateur && !compte.participants.is_empty() {
        // Before the names leave: a read that could not be journaled is not served.
        let lectures = compte
            .participants
            .iter()
            .map(|p| {
                (
                    JournalEvent::QuestionnaireRead {
                        actor: acteur.pseudonyme(),
                        participant: p.clone(),
                    },
                    Vec::new(),
                )
            })
            .collect();
        Box::pin(app.vault.record_all(&acteur.plie, lectures)).await?;
    }
    let mut personnes: Vec<lignes::Participant> = compte
        .participants
        .iter()
        .filter_map(|r| tableau.participants.get(r).cloned())
        .collect();
    // As a person looks for a name.
    personnes.sort_by(|a, b| (&a.nom, &a.prenom).cmp(&(&b.nom, &b.prenom)));
    Ok((compte, personnes))
}
