//! The « à faire » list of a référent and the coordinateur's view of the portfolios: the
//! follow-up rules ([`crate::suivi`]) applied on the service's day to the facts of the
//! repository ([`crate::db::suivi`]). Need-to-know: a référent reads his own portfolio's
//! lines; the coordinateur (and the administrateur) only counts per référent.

use super::{App, Erreur};
use crate::auth::{Acteur, Refus};
use crate::db::personnel;
use crate::db::suivi::{self as faits, Portee};
use crate::justificatif::{etat, Catalogue};
use crate::operations::Programme;
use crate::roles::RolePersonnel;
use crate::suivi::{self, Action, Bouton, Charge, Echeance, Regles, Urgence};
use chrono::{Datelike, Months, NaiveDate};
use parafe_core::horloge::jour_a_paris;
use parafe_fse::{Delais, Questionnaire};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Exits older than this many months are no longer read: every rule about an exit (proof
/// within weeks, follow-up in employment for months) has ended by then.
const MOIS_APRES_SORTIE: u32 = 12;

/// The PLIE's rules, their exit proof read in its catalogue of justificatifs (`catalogue`).
pub(crate) fn regles(app: &App, acteur: &Acteur, catalogue: &Catalogue) -> Result<Regles, Erreur> {
    Regles::charger(&app.config.data_dir, &acteur.plie, catalogue)
        .map_err(|e| Erreur::Interne(e.to_string()))
}

/// The delays of each co-funded programme's questionnaire, by its code: the definitions are
/// their one source.
pub fn delais_des_questionnaires(app: &App) -> Result<HashMap<String, Arc<Delais>>, Erreur> {
    Programme::COFINANCES
        .into_iter()
        .map(|p| {
            Questionnaire::charger(&app.config.data_dir, p.code())
                .map(|q| (p.code().to_owned(), Arc::new(q.delais)))
                .map_err(|e| Erreur::Interne(e.to_string()))
        })
        .collect()
}

/// The first exit day still read on `aujourdhui` ([`MOIS_APRES_SORTIE`]).
pub fn depuis(aujourdhui: NaiveDate) -> NaiveDate {
    aujourdhui
        .checked_sub_months(Months::new(MOIS_APRES_SORTIE))
        .unwrap_or(aujourdhui)
}

fn debut_du_mois(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The référent's list on the service's day, most urgent first: his portfolio's actions, then
/// his own time sheets of the months ended unsigned.
pub async fn liste(app: &App, acteur: &Acteur) -> Result<(NaiveDate, Vec<Echeance>), Erreur> {
    let Some(referent) = acteur.portefeuille() else {
        return Err(Erreur::Interdit(
            "la liste « à faire » est celle du portefeuille d'un référent".into(),
        ));
    };
    let catalogue = Catalogue::charger(&app.config.data_dir, &acteur.plie)?;
    let r = regles(app, acteur, &catalogue)?;
    let questionnaires = delais_des_questionnaires(app)?;
    let aujourdhui = app.horloge.aujourdhui();
    let mut par = faits::faits(
        &app.db,
        acteur.plie.as_str(),
        Portee::Referent(referent),
        depuis(aujourdhui),
        debut_du_mois(aujourdhui),
        &r.definitions,
        &questionnaires,
    )
    .await?;
    let faits = par.remove(&referent).unwrap_or_default();
    let mut lignes = suivi::echeances(&r, &faits, aujourdhui);
    let feuilles = etat::mois_sans_feuille(
        &app.db,
        &catalogue,
        &acteur.plie,
        Some(acteur.personnel_id),
        aujourdhui,
    )
    .await
    .map_err(|e| Erreur::Interne(e.to_string()))?;
    lignes.extend(feuilles.into_iter().map(|m| Echeance {
        participant: String::new(),
        nom: String::new(),
        prenom: String::new(),
        action: Action::FeuilleDeTemps,
        libelle: format!(
            "Votre feuille de temps {} (opération {}) : à établir et signer",
            m.du_mois(),
            m.operation
        ),
        echeance: m.fin,
        urgence: Urgence::EnRetard,
        bouton: Bouton {
            libelle: "Voir les pièces de l'opération".into(),
            url: format!("/controle/operations/{}", m.operation),
            formulaire: false,
        },
    }));
    let copies =
        crate::db::remises::dues_du_portefeuille(&app.db, acteur.plie.as_str(), referent).await?;
    lignes.extend(copies.into_iter().map(|c| {
        // A week to hand it over, from its filing.
        let echeance = jour_a_paris(c.du_le) + chrono::Days::new(7);
        let titre = app
            .workflow(&c.workflow)
            .map_or(c.workflow.clone(), |w| w.titre.clone());
        Echeance {
            participant: c.participant,
            nom: c.nom,
            prenom: c.prenom,
            action: Action::CopieARemettre,
            libelle: format!("{titre} : sa copie scellée à lui remettre (pas d'adresse e-mail)"),
            echeance,
            urgence: if echeance < aujourdhui {
                Urgence::EnRetard
            } else {
                Urgence::CetteSemaine
            },
            bouton: Bouton {
                libelle: "Consigner la remise".into(),
                url: format!("/documents/{}#remise", c.document),
                formulaire: false,
            },
        }
    }));
    suivi::trier(&mut lignes);
    Ok((aujourdhui, lignes))
}

/// One référent's load, for the coordinateur.
#[derive(Debug, Clone, Serialize)]
pub struct ChargeReferent {
    pub referent: personnel::Referent,
    #[serde(flatten)]
    pub charge: Charge,
}

/// Every référent of the PLIE with his load, by name.
pub async fn charges(
    app: &App,
    acteur: &Acteur,
) -> Result<(NaiveDate, Vec<ChargeReferent>), Erreur> {
    if !matches!(
        acteur.role,
        RolePersonnel::Coordinateur | RolePersonnel::Admin
    ) {
        return Err(Erreur::Interdit(Refus::Interdit.to_string()));
    }
    let r = regles(
        app,
        acteur,
        &Catalogue::charger(&app.config.data_dir, &acteur.plie)?,
    )?;
    let questionnaires = delais_des_questionnaires(app)?;
    let aujourdhui = app.horloge.aujourdhui();
    let plie = acteur.plie.as_str();
    let (referents, mut par) = tokio::try_join!(
        personnel::referents(&app.db, plie, None),
        faits::faits(
            &app.db,
            plie,
            Portee::Plie,
            depuis(aujourdhui),
            debut_du_mois(aujourdhui),
            &r.definitions,
            &questionnaires
        ),
    )?;
    let lignes = referents
        .into_iter()
        .map(|referent| {
            let faits = par.remove(&referent.id).unwrap_or_default();
            ChargeReferent {
                charge: suivi::charge(&r, &faits, aujourdhui),
                referent,
            }
        })
        .collect();
    Ok((aujourdhui, lignes))
}
