//! Who is calling, and what they may see: staff members authenticated by an API token (for
//! integrations) — the web screens add sessions on top. Roles follow the PLIE's organisation:
//! a référent sees his own portfolio; an assistant reads and exports everything of the PLIE and
//! files justificatifs, but creates, changes, sends and signs no document; a coordinateur
//! validates and settles workflows; an admin manages accounts.

pub mod comptes;
pub mod mots_de_passe;
pub mod session;

use crate::roles::{empreinte_secret, RolePersonnel};
use parafe_core::model::PlieId;

/// What an assistant may do, said the same way wherever she is refused.
pub const DROITS_ASSISTANTE: &str = "une assistante consulte, exporte et dépose des justificatifs ; elle ne crée, ne modifie, n'envoie, n'annule ni ne signe aucun document";

/// How a staff member proved who he is on a request: recorded with what he signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moyen {
    /// A browser session opened with the account's password.
    Session,
    /// An API token of the account.
    JetonApi,
}

impl Moyen {
    /// As the evidence of a signature names it.
    pub fn libelle(self) -> &'static str {
        match self {
            Moyen::Session => "session du navigateur ouverte par mot de passe",
            Moyen::JetonApi => "jeton d'API",
        }
    }
}

/// An authenticated staff member.
#[derive(Debug, Clone)]
pub struct Acteur {
    pub personnel_id: i64,
    pub plie: PlieId,
    pub role: RolePersonnel,
    pub moyen: Moyen,
}

impl Acteur {
    /// Assistants read, export and file justificatifs (evidence received from outside); they
    /// never create, change, send, sign or cancel a document ([`DROITS_ASSISTANTE`]).
    pub fn peut_modifier(&self) -> bool {
        self.role != RolePersonnel::Assistant
    }
    /// Référents see only their own participants; the others see the whole PLIE.
    pub fn portefeuille(&self) -> Option<i64> {
        (self.role == RolePersonnel::Referent).then_some(self.personnel_id)
    }
    /// How the journal names this person: by id, never by name.
    pub fn pseudonyme(&self) -> String {
        format!("personnel-{}", self.personnel_id)
    }
}

/// Why a request is not let in (the API turns it into 401/403).
#[derive(Debug, thiserror::Error)]
pub enum Refus {
    #[error("authentification requise : jeton d'API (en-tête Authorization: Bearer …) ou session")]
    NonAuthentifie,
    #[error("votre rôle ne permet pas cette action")]
    Interdit,

    #[error(transparent)]
    Base(#[from] sqlx::Error),
}

/// A fresh secret for a link, a token or a session (≥ 128 random bits, base32) and the SHA-256
/// kept in the database in its place: a stolen database does not hand out working links.
pub fn nouveau_secret() -> (String, String) {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = crate::db::base32(&bytes);
    let empreinte = empreinte_secret(&secret);
    (secret, empreinte)
}

/// Creates an API token for a staff member; the token is shown once and only its hash is kept.
pub async fn creer_jeton_api(
    db: &crate::db::Pool,
    personnel_id: i64,
    libelle: &str,
    maintenant: chrono::DateTime<chrono::Utc>,
) -> Result<String, sqlx::Error> {
    let (jeton, empreinte) = nouveau_secret();
    crate::db::jetons_api::creer(db, &empreinte, personnel_id, libelle, maintenant).await?;
    Ok(format!("pfa_{jeton}"))
}

/// The staff member holding an API token, if it is valid and the account active.
pub async fn par_jeton_api(
    db: &crate::db::Pool,
    jeton: &str,
    maintenant: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Acteur>, sqlx::Error> {
    let Some(secret) = jeton.strip_prefix("pfa_") else {
        return Ok(None);
    };
    let titulaire =
        crate::db::jetons_api::titulaire(db, &empreinte_secret(secret), maintenant).await?;
    Ok(titulaire.and_then(|t| {
        Some(Acteur {
            personnel_id: t.id,
            plie: PlieId::new(&t.plie).ok()?,
            role: t.role,
            moyen: Moyen::JetonApi,
        })
    }))
}
