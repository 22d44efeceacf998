//! FSE opérations as records: Ma Démarche FSE number, title, programme, period, co-funders and
//! last payment, kept by coordinateurs and administrateurs (read by the assistant too); the
//! retention each one's programme gives its pieces, computed here from the record and fed to the
//! evidence store; and its legal hold during a control.

use super::{App, Erreur};
use crate::auth::{Acteur, Refus};
use crate::db::referentiel::{self, Operation};
use crate::reglages::reglage_permis;
use crate::roles::RolePersonnel;
use chrono::NaiveDate;
use parafe_store::retention::{paris_day, RetentionError, RetentionRule};
use parafe_store::{StoreError, Vault};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use crate::db::referentiel::Programme;

impl Operation {
    /// The retention its programme gives the pieces filed now, from its record: 2014-2020, the
    /// programme's closure; FSE+, the years after the last payment, counted from the end of its
    /// period until that payment is known (a lower bound of the final date, see
    /// [`RetentionRule::period_end`]), and from today while its period is not entered either (an
    /// opération an import created): the last payment comes after its pieces, so that date is
    /// only ever extended when the record is completed — never another programme's date that
    /// the record could not shorten. None without a programme: the store's default rule.
    pub fn regle_de_conservation(&self, coffre: &Vault) -> Option<RetentionRule> {
        let regles = coffre.programme_rules();
        match self.programme {
            Programme::Pon20142020 => Some(RetentionRule {
                closure: Some(regles.closure_2014_2020),
                ..RetentionRule::default()
            }),
            Programme::FsePlus20212027 => Some(RetentionRule {
                years_after_last_payment: Some(regles.years_fse_plus),
                last_payment: self.dernier_paiement,
                period_end: self.fin.or_else(|| Some(coffre.horloge().aujourdhui())),
                ..RetentionRule::default()
            }),
            Programme::Aucun => None,
        }
    }

    /// The « operation » field of the templates.
    pub fn pour_les_modeles(&self) -> Value {
        json!({ "intitule": self.intitule, "numero": self.code, "programme": self.programme })
    }
}

/// An opération as a coordinateur enters it (`PUT`: the whole record).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FicheOperation {
    pub intitule: String,
    pub programme: Programme,
    pub debut: Option<NaiveDate>,
    pub fin: Option<NaiveDate>,
    #[serde(default)]
    pub cofinanceurs: String,
    pub dernier_paiement: Option<NaiveDate>,
}

/// A new opération: its number and its record.
#[derive(Debug, Deserialize)]
pub struct NouvelleOperation {
    pub numero: String,
    #[serde(flatten)]
    pub fiche: FicheOperation,
}

/// An opération as the API shows it: its record and until when its pieces are kept.
#[derive(Debug, Serialize)]
pub struct VueOperation {
    #[serde(flatten)]
    pub operation: Operation,
    /// Last day its pieces filed now are kept (Europe/Paris), `JJ/MM/AAAA`.
    pub conservation_jusqu_au: Option<String>,
    /// Its pieces under legal hold (a control, a dispute): none may be deleted while it lasts.
    pub gel_juridique: bool,
}

/// Who reads the PLIE's opérations: its staff except référents (the assistant prepares controls
/// and answers controllers with them).
pub fn lecture_permise(acteur: &Acteur) -> Result<(), Erreur> {
    match acteur.role {
        RolePersonnel::Referent => Err(Erreur::Interdit(Refus::Interdit.to_string())),
        RolePersonnel::Assistant | RolePersonnel::Coordinateur | RolePersonnel::Admin => Ok(()),
    }
}

/// Who creates and changes them: coordinateurs and administrateurs, as the PLIE's settings.
pub fn modification_permise(acteur: &Acteur) -> Result<(), Erreur> {
    reglage_permis(acteur)
}

fn verifier(numero: &str, fiche: &FicheOperation) -> Result<(), Erreur> {
    if numero.is_empty()
        || !numero
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Erreur::invalide(
            "numero",
            "indiquez le numéro Ma Démarche FSE de l'opération (chiffres, lettres, tirets)",
        ));
    }
    if fiche.intitule.trim().is_empty() {
        return Err(Erreur::invalide(
            "intitule",
            "indiquez l'intitulé de l'opération",
        ));
    }
    if let (Some(debut), Some(fin)) = (fiche.debut, fiche.fin) {
        if fin < debut {
            return Err(Erreur::invalide(
                "fin",
                "la fin de la période précède son début",
            ));
        }
    }
    // Without either, an FSE+ opération's retention has no date of its own and would take the
    // default rule, another programme's.
    if fiche.programme == Programme::FsePlus20212027
        && fiche.fin.is_none()
        && fiche.dernier_paiement.is_none()
    {
        return Err(Erreur::invalide(
            "fin",
            "indiquez la fin de la période de l'opération : la conservation de ses pièces (FSE+) en dépend tant que le dernier paiement n'est pas connu",
        ));
    }
    Ok(())
}

/// Opération `numero` of the caller's PLIE, else « introuvable ».
pub async fn de_numero(app: &App, plie: &str, numero: &str) -> Result<Operation, Erreur> {
    referentiel::operation_par_code(&app.db, plie, numero)
        .await?
        .ok_or_else(|| Erreur::Introuvable(format!("aucune opération « {numero} » dans ce PLIE")))
}

/// Creates an opération (`creation`) or replaces its record. Its retention is put in force in
/// the store first: one that would end earlier than the retention in force is refused, and
/// then nothing changes. (Were the database to fail after, the store would keep a retention
/// longer than the record says: never a shorter one.)
pub async fn enregistrer(
    app: &App,
    acteur: &Acteur,
    numero: &str,
    fiche: FicheOperation,
    creation: bool,
) -> Result<VueOperation, Erreur> {
    modification_permise(acteur)?;
    verifier(numero, &fiche)?;
    let plie = acteur.plie.as_str();
    let existante = referentiel::operation_par_code(&app.db, plie, numero).await?;
    match (&existante, creation) {
        (Some(_), true) => {
            return Err(Erreur::Conflit(format!(
                "l'opération « {numero} » existe déjà : modifiez-la"
            )))
        }
        (None, false) => {
            return Err(Erreur::Introuvable(format!(
                "aucune opération « {numero} » dans ce PLIE"
            )))
        }
        _ => {}
    }
    let mut operation = Operation {
        id: existante.map_or(0, |o| o.id),
        code: numero.to_owned(),
        intitule: fiche.intitule.trim().to_owned(),
        programme: fiche.programme,
        debut: fiche.debut,
        fin: fiche.fin,
        cofinanceurs: fiche.cofinanceurs.trim().to_owned(),
        dernier_paiement: fiche.dernier_paiement,
        decrite: true,
    };
    let regle = operation.regle_de_conservation(&app.vault);
    if let Some(regle) = regle.filter(|r| r.last_day().is_some()) {
        app.vault
            .set_retention(&acteur.plie, numero, regle)
            .await
            .map_err(|e| match e {
                StoreError::Retention(refus @ RetentionError::Shortened { .. }) => {
                    Erreur::Conflit(refus.to_string())
                }
                autre => autre.into(),
            })?;
    }
    operation.id = referentiel::enregistrer_operation(&app.db, plie, &operation).await?;
    vue(app, operation)
}

/// Places (`gel`) or lifts the legal hold of the opération's pieces, during a control or a
/// dispute: on every piece already filed for it (Object Lock legal hold where the store has it),
/// and on every piece filed while it lasts; the store journals it.
pub async fn geler(
    app: &App,
    acteur: &Acteur,
    numero: &str,
    gel: bool,
) -> Result<VueOperation, Erreur> {
    modification_permise(acteur)?;
    let operation = de_numero(app, acteur.plie.as_str(), numero).await?;
    let pieces = app.vault.set_legal_hold(&acteur.plie, numero, gel).await?;
    tracing::info!(
        operation = numero,
        gel,
        pieces,
        personnel = acteur.personnel_id,
        "gel juridique"
    );
    vue(app, operation)
}

/// The PLIE's opérations, by number, with their retention.
pub async fn lister(app: &App, acteur: &Acteur) -> Result<Vec<VueOperation>, Erreur> {
    lecture_permise(acteur)?;
    referentiel::operations(&app.db, acteur.plie.as_str())
        .await?
        .into_iter()
        .map(|o| vue(app, o))
        .collect()
}

/// Opération `numero` of the caller's PLIE, with its retention.
pub async fn lire(app: &App, acteur: &Acteur, numero: &str) -> Result<VueOperation, Erreur> {
    lecture_permise(acteur)?;
    vue(app, de_numero(app, acteur.plie.as_str(), numero).await?)
}

fn vue(app: &App, operation: Operation) -> Result<VueOperation, Erreur> {
    let regle = operation.regle_de_conservation(&app.vault);
    let jusqu_au = match app.vault.retain_until(&operation.code, regle.as_ref()) {
        Ok(t) => Some(paris_day(t)),
        Err(StoreError::Retention(RetentionError::NoRule(_))) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(VueOperation {
        gel_juridique: app.vault.legal_hold(&operation.code),
        operation,
        conservation_jusqu_au: jusqu_au,
    })
}
