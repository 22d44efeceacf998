//! Who a staff member is in the PLIE's organisation, and how a secret is kept in its place:
//! low-level definitions that the repository, the mail delivery and the access checks share
//! without depending on one another.

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolePersonnel {
    Referent,
    Assistant,
    Coordinateur,
    Admin,
}

impl RolePersonnel {
    pub fn parse(s: &str) -> Option<RolePersonnel> {
        match s {
            "referent" => Some(Self::Referent),
            "assistant" => Some(Self::Assistant),
            "coordinateur" => Some(Self::Coordinateur),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Self::Referent => "referent",
            Self::Assistant => "assistant",
            Self::Coordinateur => "coordinateur",
            Self::Admin => "admin",
        }
    }
}

/// A stored role parafe does not know: a corrupted row, never read as another role.
#[derive(Debug, thiserror::Error)]
#[error("rôle de personnel inconnu « {0} » dans la base : ligne altérée ou écrite par une autre version de parafe")]
pub struct RoleInconnu(pub String);

/// How a row's role is read (`#[sqlx(try_from = "String")]`): an unknown value is an error.
impl TryFrom<String> for RolePersonnel {
    type Error = RoleInconnu;

    fn try_from(code: String) -> Result<RolePersonnel, RoleInconnu> {
        RolePersonnel::parse(&code).ok_or(RoleInconnu(code))
    }
}

/// What the database keeps in place of a secret (a link, a token, a session): its SHA-256, so
/// that a stolen database does not hand out working secrets.
pub fn empreinte_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
