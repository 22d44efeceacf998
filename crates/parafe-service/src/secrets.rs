//! The secrets e-mails carry — signing links, one-time codes, account links (activation, password
//! reset) — are never written in the outbox. A queued message holds a placeholder where its
//! secret goes and says which secret it is; the e-mail lane draws the secret when it sends the
//! message, commits its SHA-256 where it will be checked (before the message goes to the SMTP
//! server), and puts it in the text it sends. A copy of the database, outbox included, hands out
//! no working link and no code.

use super::{App, Erreur};
use crate::auth::nouveau_secret;
use crate::db;
use crate::roles::empreinte_secret;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// How long a one-time code is valid, from its sending.
pub const DUREE_CODE: TimeDelta = TimeDelta::minutes(10);

/// A code as stored: bound to the link it was sent for (`lien`: the link's SHA-256).
pub fn empreinte_code(lien: &str, code: &str) -> String {
    empreinte_secret(&format!("{lien}:{code}"))
}

/// Where the secret goes in a queued message's text (its last occurrence: the names the text
/// may hold come before it).
pub const MARQUE: &str = "{secret}";

/// The secret a queued message carries, drawn when it is sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "genre", rename_all = "snake_case")]
pub enum Secret {
    /// The signing link of a signer's invitation (`signataire.invitation`): a reminder that
    /// replaced it makes this one void.
    LienSignature { signataire: i64, invitation: String },
    /// A one-time code for the link whose SHA-256 is `lien`.
    Code { signataire: i64, lien: String },
    /// An account link, by its row in `lien_compte`.
    LienCompte { lien: i64 },
}

impl Secret {
    /// Draws the secret and records its hash; returns what the message carries (the URL or the
    /// code), or None when it is no longer wanted (the signer has signed, the request ended,
    /// a reminder replaced the invitation, the link was used or expired): the message is then
    /// not sent.
    pub async fn tirer(&self, app: &App) -> Result<Option<String>, Erreur> {
        let maintenant = app.horloge.maintenant();
        match self {
            Secret::LienSignature {
                signataire,
                invitation,
            } => {
                let (jeton, empreinte) = nouveau_secret();
                let voulu = db::secrets::lien_signature(
                    &app.db,
                    *signataire,
                    invitation,
                    &empreinte,
                    maintenant,
                )
                .await?;
                Ok(voulu.then(|| format!("{}/signer/{jeton}", app.url_publique())))
            }
            Secret::Code { signataire, lien } => {
                let code = {
                    use rand::Rng;
                    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
                };
                let voulu = db::secrets::code(
                    &app.db,
                    *signataire,
                    lien,
                    &empreinte_code(lien, &code),
                    maintenant + DUREE_CODE,
                )
                .await?;
                Ok(voulu.then_some(code))
            }
            Secret::LienCompte { lien } => {
                let (jeton, empreinte) = nouveau_secret();
                let voulu =
                    db::secrets::lien_compte(&app.db, *lien, &empreinte, maintenant).await?;
                Ok(voulu.then(|| format!("{}/compte/{jeton}", app.url_publique())))
            }
        }
    }
}

/// A queued message's text with its secret in place of the placeholder's last occurrence.
pub fn inserer(texte: &str, secret: &str) -> String {
    match texte.rfind(MARQUE) {
        Some(i) => format!("{}{secret}{}", &texte[..i], &texte[i + MARQUE.len()..]),
        None => texte.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_secret_prend_la_place_de_la_derniere_marque() {
        assert_eq!(
            inserer("Bonjour {secret},\nvotre code : {secret}\n", "123456"),
            "Bonjour {secret},\nvotre code : 123456\n"
        );
        assert_eq!(inserer("sans marque", "x"), "sans marque");
    }
}
