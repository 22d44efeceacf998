//! Where the secrets an e-mail carries are recorded, by their SHA-256, when the e-mail lane
//! draws them: each update says whether the secret is still wanted (`false`: the signer has
//! signed, a reminder replaced the invitation, the link was used or expired…).

use super::Pool;
use chrono::{DateTime, Utc};

/// The signing link of a signer's invitation, if this invitation is still the one waiting.
pub async fn lien_signature(
    db: &Pool,
    signataire: i64,
    invitation: &str,
    empreinte: &str,
    maintenant: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query(
        "UPDATE signataire SET jeton_sha256 = $1
         WHERE id = $2 AND invitation = $3 AND etat = 'attente' AND jeton_utilise = 0
           AND jeton_expire_le > $4",
    )
    .bind(empreinte)
    .bind(signataire)
    .bind(invitation)
    .bind(super::instant(maintenant))
    .execute(db)
    .await?;
    Ok(fait.rows_affected() == 1)
}

/// A one-time code for the signing link whose SHA-256 is `lien`, if that link still waits.
pub async fn code(
    db: &Pool,
    signataire: i64,
    lien: &str,
    empreinte: &str,
    expire_le: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query(
        "UPDATE signataire SET code_sha256 = $1, code_expire_le = $2
         WHERE id = $3 AND jeton_sha256 = $4 AND etat = 'attente' AND jeton_utilise = 0",
    )
    .bind(empreinte)
    .bind(super::instant(expire_le))
    .bind(signataire)
    .bind(lien)
    .execute(db)
    .await?;
    Ok(fait.rows_affected() == 1)
}

/// An account link (activation, password reset), if unused and unexpired.
pub async fn lien_compte(
    db: &Pool,
    lien: i64,
    empreinte: &str,
    maintenant: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query(
        "UPDATE lien_compte SET sha256 = $1
         WHERE id = $2 AND utilise_le IS NULL AND expire_le > $3",
    )
    .bind(empreinte)
    .bind(lien)
    .bind(super::instant(maintenant))
    .execute(db)
    .await?;
    Ok(fait.rows_affected() == 1)
}
