//! The PLIE's settings that coordinateurs and administrateurs keep: its card as documents show
//! it, and the Départements' addresses and bilan months.

use super::{App, Erreur};
use crate::auth::{Acteur, Refus};
use crate::db::referentiel;
use crate::roles::RolePersonnel;
use serde::Deserialize;
use serde_json::{json, Value};

pub(crate) fn reglage_permis(acteur: &Acteur) -> Result<(), Erreur> {
    if matches!(
        acteur.role,
        RolePersonnel::Coordinateur | RolePersonnel::Admin
    ) {
        Ok(())
    } else {
        Err(Erreur::Interdit(Refus::Interdit.to_string()))
    }
}

/// A Département as a coordinateur sets it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReglageDepartement {
    pub nom: String,
    pub email_referent_unique: String,
    pub email_sdi: String,
    pub bilans_mois: Option<Vec<u32>>,
}

/// The settings as the screen shows them: the PLIE's card (JSON, as the templates' « plie »
/// field), its homonym preference, its Départements.
pub struct Reglages {
    pub fiche: Option<Value>,
    pub homonymes: referentiel::Homonymes,
    pub departements: Vec<referentiel::Departement>,
}

pub async fn lire(app: &App, acteur: &Acteur) -> Result<Reglages, Erreur> {
    reglage_permis(acteur)?;
    let plie = acteur.plie.as_str();
    let fiche = referentiel::fiche_plie(&app.db, plie)
        .await?
        .and_then(|f| serde_json::from_str(&f).ok());
    Ok(Reglages {
        fiche,
        homonymes: referentiel::homonymes(&app.db, plie).await?,
        departements: referentiel::departements(&app.db, plie).await?,
    })
}

/// The template whose « plie » field the PLIE's card is checked against (every template
/// declares the same one).
pub fn schema_fiche(app: &App) -> Result<&parafe_template::template::Schema, Erreur> {
    app.catalogue
        .get("contrat-engagement")
        .map_err(|e| Erreur::Interne(e.to_string()))
}

/// Records a Département of the PLIE (its code as INSEE writes it, its name, its addresses
/// checked, its bilan months between 1 and 120).
pub async fn enregistrer_departement(
    app: &App,
    acteur: &Acteur,
    code: String,
    d: ReglageDepartement,
) -> Result<referentiel::Departement, Erreur> {
    reglage_permis(acteur)?;
    let code = code.trim().to_uppercase();
    if !(2..=3).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Erreur::invalide(
            "code",
            format!("« {code} » : numéro du Département attendu (34, 2A, 974…)"),
        ));
    }
    if d.nom.trim().is_empty() {
        return Err(Erreur::invalide("nom", "indiquez le nom du Département"));
    }
    for (champ, email) in [
        ("email_referent_unique", &d.email_referent_unique),
        ("email_sdi", &d.email_sdi),
    ] {
        if !crate::delivery::email_valide(email) {
            return Err(Erreur::invalide(
                champ,
                format!("« {email} » n'est pas une adresse e-mail"),
            ));
        }
    }
    if d.bilans_mois
        .as_ref()
        .is_some_and(|m| m.is_empty() || m.iter().any(|&m| m == 0 || m > 120))
    {
        return Err(Erreur::invalide(
            "bilans_mois",
            "mois entre 1 et 120 attendus",
        ));
    }
    let departement = referentiel::Departement {
        code,
        nom: d.nom.trim().to_owned(),
        email_referent_unique: d.email_referent_unique,
        email_sdi: d.email_sdi,
        bilans_mois: d.bilans_mois.map(|m| json!(m).to_string()),
    };
    referentiel::enregistrer_departement(&app.db, acteur.plie.as_str(), &departement).await?;
    Ok(departement)
}

/// Records the PLIE's card (name, structure, address), checked as the templates' « plie »
/// field so that every document accepts it.
pub async fn enregistrer_fiche_plie(
    app: &App,
    acteur: &Acteur,
    fiche: &Value,
) -> Result<(), Erreur> {
    reglage_permis(acteur)?;
    let schema = schema_fiche(app)?;
    let essai = json!({ "plie": fiche });
    if let Err(erreurs) = parafe_template::template::validate(schema, &essai) {
        if let Some(e) = erreurs.iter().find(|e| e.chemin.starts_with("plie")) {
            return Err(Erreur::invalide(&e.chemin, e.message.clone()));
        }
    }
    crate::db::referentiel::changer_fiche(&app.db, acteur.plie.as_str(), fiche).await?;
    Ok(())
}

/// What the PLIE prefers to tell homonyms apart by, as a coordinateur chooses it:
/// `annee_naissance`, `commune` or `identifiant` (see `participants::reperes`).
pub async fn enregistrer_homonymes(
    app: &App,
    acteur: &Acteur,
    choix: &str,
) -> Result<referentiel::Homonymes, Erreur> {
    reglage_permis(acteur)?;
    let choix = referentiel::Homonymes::try_from(choix.to_owned()).map_err(|_| {
        Erreur::invalide(
            "homonymes",
            format!("« {choix} » : annee_naissance, commune ou identifiant attendu"),
        )
    })?;
    referentiel::changer_homonymes(&app.db, acteur.plie.as_str(), choix).await?;
    Ok(choix)
}
