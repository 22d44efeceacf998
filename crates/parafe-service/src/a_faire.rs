//! The « à faire » list of a référent and the coordinateur's view of the portfolios: the
//! follow-up rules ([`crate::suivi`]) applied on the service's day to the facts of the
//! repository ([`crate::db::suivi`]). Need-to-know: a référent reads his own portfolio's
//! lines; the coordinateur (and the administrateur) only counts per référent.

use super::{App, Erreur};
use crate::auth::{Acteur, Refus};
use crate::db::personnel;
use crate::db::suivi::{self as faits, Portee};
use crate::roles::RolePersonnel;
use crate::suivi::{self, Charge, Echeance, Regles};
use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

/// Exits older than this many months are no longer read: every rule about an exit (proof
/// within weeks, follow-up in employment for months) has ended by then.
const MOIS_APRES_SORTIE: u32 = 12;

/// The follow-up rules of the caller's PLIE.
pub(crate) fn regles(app: &App, acteur: &Acteur) -> Result<Regles, Erreur> {
    Regles::charger(&app.config.data_dir, &acteur.plie).map_err(|e| Erreur::Interne(e.to_string()))
}

fn depuis(aujourdhui: NaiveDate) -> NaiveDate {
    aujourdhui
        .checked_sub_months(Months::new(MOIS_APRES_SORTIE))
        .unwrap_or(aujourdhui)
}

fn debut_du_mois(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The référent's list on the service's day, most urgent first.
pub async fn liste(app: &App, acteur: &Acteur) -> Result<(NaiveDate, Vec<Echeance>), Erreur> {
    let Some(referent) = acteur.portefeuille() else {
        return Err(Erreur::Interdit(
            "la liste « à faire » est celle du portefeuille d'un référent".into(),
        ));
    };
    let r = regles(app, acteur)?;
    let aujourdhui = app.horloge.aujourdhui();
    let mut par = faits::faits(
        &app.db,
        acteur.plie.as_str(),
        Portee::Referent(referent),
        depuis(aujourdhui),
        debut_du_mois(aujourdhui),
        &r.definitions,
    )
    .await?;
    let faits = par.remove(&referent).unwrap_or_default();
    Ok((aujourdhui, suivi::echeances(&r, &faits, aujourdhui)))
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
    let r = regles(app, acteur)?;
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
            &r.definitions
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
