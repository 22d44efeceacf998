//! The PLIE's settings that coordinateurs and administrateurs keep: its card as documents show
//! it, and the Départements' addresses and bilan months.

use super::{App, Erreur};
use crate::auth::{Acteur, Refus};
use crate::db::referentiel;
use crate::roles::RolePersonnel;
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub fn reglage_permis(acteur: &Acteur) -> Result<(), Erreur> {
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
    let fiche = fiche(app, plie).await?;
    Ok(Reglages {
        fiche: (!fiche.is_empty()).then_some(Value::Object(fiche)),
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

/// Removes a Département, unless participants belong to it: their bilans BRSA are addressed to
/// it, so its addresses are changed instead.
pub async fn retirer_departement(app: &App, acteur: &Acteur, code: &str) -> Result<(), Erreur> {
    reglage_permis(acteur)?;
    let plie = acteur.plie.as_str();
    if referentiel::retirer_departement(&app.db, plie, code).await? {
        return Ok(());
    }
    if referentiel::departement(&app.db, plie, code)
        .await?
        .is_none()
    {
        return Err(Erreur::Introuvable(format!("aucun Département « {code} »")));
    }
    let n = referentiel::participants_du_departement(&app.db, plie, code).await?;
    Err(Erreur::invalide(
        "departement",
        format!(
            "le Département {code} ne peut pas être retiré : {n} participant(s) en relèvent, et leurs bilans BRSA partent à ses adresses ; modifiez plutôt ses adresses"
        ),
    ))
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
    let Value::Object(fiche) = fiche.clone() else {
        return Err(Erreur::invalide(
            "plie",
            "attendu un objet (nom, structure, adresse…)",
        ));
    };
    let plie = acteur.plie.as_str();
    let logo = logo_actuel(app, plie).await?;
    enregistrer(app, plie, fiche, logo.as_deref()).await
}

/// The PLIE's card as stored (empty when it has none).
async fn fiche(app: &App, plie: &str) -> Result<Map<String, Value>, Erreur> {
    let fiche = referentiel::fiche_plie(&app.db, plie).await?;
    Ok(match fiche.and_then(|f| serde_json::from_str(&f).ok()) {
        Some(Value::Object(f)) => f,
        _ => Map::new(),
    })
}

/// Records `fiche` as the PLIE's card with `logo`: the logo is the logo form's, whatever the
/// card says of it.
async fn enregistrer(
    app: &App,
    plie: &str,
    mut fiche: Map<String, Value>,
    logo: Option<&str>,
) -> Result<(), Erreur> {
    fiche.remove("logo");
    if let Some(logo) = logo {
        fiche.insert("logo".into(), json!(logo));
    }
    referentiel::changer_fiche(&app.db, plie, &Value::Object(fiche)).await?;
    Ok(())
}

/// The name of the PLIE's current logo (`<sha256>.png`), if its card has one.
pub async fn logo_actuel(app: &App, plie: &str) -> Result<Option<String>, Erreur> {
    Ok(fiche(app, plie)
        .await?
        .get("logo")
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// Largest logo file accepted, and the box its image is brought into (twice the 0.95 cm of the
/// documents' header at 300 dpi is plenty).
const LOGO_OCTETS_MAX: usize = 2 * 1024 * 1024;
const LOGO_PIXELS: u32 = 600;

/// Takes a PNG or JPEG logo for the PLIE: decoded under limits (a file that lies about its size
/// is refused before anything is allocated), brought within 600 × 600 pixels, written again as a
/// plain PNG named by its SHA-256, and set on the PLIE's card. Returns its name.
pub async fn deposer_logo(app: &App, acteur: &Acteur, octets: Vec<u8>) -> Result<String, Erreur> {
    reglage_permis(acteur)?;
    if octets.len() > LOGO_OCTETS_MAX {
        return Err(Erreur::invalide(
            "logo",
            "le logo dépasse 2 Mo : enregistrez-le plus petit (PNG ou JPEG)",
        ));
    }
    let png = tokio::task::spawn_blocking(move || normaliser_logo(&octets)).await??;
    let nom = format!(
        "{}.png",
        parafe_core::model::Sha256Digest::of(&png).to_hex()
    );
    let plie = acteur.plie.as_str();
    let le = crate::db::instant(app.horloge.maintenant());
    referentiel::enregistrer_logo(&app.db, plie, &nom, &png, &le).await?;
    changer_logo(app, plie, Some(&nom)).await?;
    Ok(nom)
}

/// Takes the logo off the PLIE's card (documents that carry it keep it).
pub async fn retirer_logo(app: &App, acteur: &Acteur) -> Result<(), Erreur> {
    reglage_permis(acteur)?;
    changer_logo(app, acteur.plie.as_str(), None).await
}

async fn changer_logo(app: &App, plie: &str, nom: Option<&str>) -> Result<(), Erreur> {
    enregistrer(app, plie, fiche(app, plie).await?, nom).await
}

fn normaliser_logo(octets: &[u8]) -> Result<Vec<u8>, Erreur> {
    use image::{ImageFormat, ImageReader, Limits};
    let refus = |message: &str| Erreur::invalide("logo", message);
    let format = match image::guess_format(octets) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        _ => return Err(refus("le logo doit être une image PNG ou JPEG")),
    };
    let mut lecteur = ImageReader::with_format(std::io::Cursor::new(octets), format);
    let mut limites = Limits::default();
    limites.max_image_width = Some(8000);
    limites.max_image_height = Some(8000);
    limites.max_alloc = Some(256 * 1024 * 1024);
    lecteur.limits(limites);
    let image = lecteur.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => {
            refus("le logo dépasse 8 000 pixels de côté : enregistrez-le plus petit")
        }
        _ => refus("le logo est illisible : enregistrez-le à nouveau en PNG ou JPEG"),
    })?;
    let image = if image.width() > LOGO_PIXELS || image.height() > LOGO_PIXELS {
        image.thumbnail(LOGO_PIXELS, LOGO_PIXELS)
    } else {
        image
    };
    let mut png = Vec::new();
    image
        .to_rgba8()
        .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| Erreur::Interne(format!("écriture du logo en PNG : {e}")))?;
    Ok(png)
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
