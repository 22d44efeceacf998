//! The PLIEs of one deployment. Its administrator (an administrator of the PLIE of
//! `[service] plie`) opens the others, each with its first administrator and its own seal: in
//! development a seal the development CA issues in the PLIE's name, in production the PKCS#12
//! file of `[seal.plies.<id>]`, without which the PLIE's documents wait to be sealed.

use super::{db, App, Erreur};
use crate::auth::comptes::{ouvrir_compte, NouveauCompte};
use crate::auth::Acteur;
use crate::db::referentiel;
use crate::roles::RolePersonnel;
use chrono::{DateTime, Utc};
use parafe_core::model::PlieId;

/// A PLIE as the deployment's administrator sees it: its row and its seal, if it has one yet.
pub struct PlieDuDeploiement {
    pub plie: referentiel::Plie,
    pub cachet: Option<Cachet>,
}

/// What a seal's certificate says: who seals, who certified it (common names), until when.
pub struct Cachet {
    pub titulaire: String,
    pub emetteur: String,
    pub jusqua: DateTime<Utc>,
}

/// The first administrator and the name of a PLIE to open.
pub struct NouveauPlie {
    pub id: String,
    pub nom: String,
    pub prenom_admin: String,
    pub nom_admin: String,
    pub email_admin: String,
}

/// Only the deployment's administrator manages its PLIEs.
pub fn deploiement_permis(app: &App, acteur: &Acteur) -> Result<(), Erreur> {
    if acteur.role == RolePersonnel::Admin && acteur.plie.as_str() == app.config.service.plie {
        Ok(())
    } else {
        Err(Erreur::Interdit(
            "seul l'administrateur du déploiement ouvre et voit les PLIE du déploiement".into(),
        ))
    }
}

pub async fn liste(app: &App, acteur: &Acteur) -> Result<Vec<PlieDuDeploiement>, Erreur> {
    deploiement_permis(app, acteur)?;
    let plies = referentiel::plies_du_deploiement(&app.db).await?;
    Ok(plies
        .into_iter()
        .map(|plie| PlieDuDeploiement {
            cachet: cachet(app, &plie.id),
            plie,
        })
        .collect())
}

fn cachet(app: &App, plie: &str) -> Option<Cachet> {
    let cle = app.keys.existant(plie)?;
    let certificat = cle.chain.first()?;
    let jusqua = certificat
        .tbs_certificate
        .validity
        .not_after
        .to_system_time();
    Some(Cachet {
        titulaire: parafe_seal::chain::common_name(&certificat.tbs_certificate.subject),
        emetteur: parafe_seal::chain::common_name(&certificat.tbs_certificate.issuer),
        jusqua: DateTime::<Utc>::from(jusqua),
    })
}

/// Opens a PLIE and its first administrator's account (an activation link by e-mail), then,
/// in development, issues its seal. Nothing is written when a field is refused.
pub async fn creer(app: &App, acteur: &Acteur, n: &NouveauPlie) -> Result<(), Erreur> {
    deploiement_permis(app, acteur)?;
    let id = PlieId::new(n.id.trim()).map_err(|m| Erreur::invalide("id", m))?;
    let nom = n.nom.trim();
    if nom.is_empty() || nom.chars().count() > 120 {
        return Err(Erreur::invalide(
            "nom",
            "indiquez le nom du PLIE (120 caractères au plus)",
        ));
    }
    let mut tx = app.db.begin().await?;
    let le = db::instant(app.horloge.maintenant());
    if !referentiel::creer_plie(&mut *tx, id.as_str(), nom, &le).await? {
        return Err(Erreur::invalide(
            "id",
            format!(
                "« {} » est déjà l'identifiant d'un PLIE du déploiement",
                id.as_str()
            ),
        ));
    }
    let admin = NouveauCompte {
        email: n.email_admin.clone(),
        prenom: n.prenom_admin.clone(),
        nom: n.nom_admin.clone(),
        role: RolePersonnel::Admin.code().into(),
        structure: nom.to_owned(),
    };
    ouvrir_compte(app, &mut tx, id.as_str(), &admin).await?;
    tx.commit().await?;
    app.reveil.sonner();
    tracing::info!(
        "PLIE « {} » ouvert par {} avec son premier administrateur",
        id.as_str(),
        acteur.pseudonyme()
    );
    if app.keys.developpement() {
        app.cachet(id.as_str()).await?;
    }
    Ok(())
}
