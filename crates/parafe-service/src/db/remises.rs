//! Copies handed over another way than by e-mail (`remise`): due when a sealed document is
//! filed for a recipient the service has no address for (a participant without e-mail or fixed
//! address), then done as the PLIE records it.

use chrono::{DateTime, NaiveDate, Utc};

super::etat_stocke! {
    /// How a copy was handed over: printed and handed to the person, or to the contact they
    /// named (a relative, social services).
    ModeRemise, "de remise", {
        MainPropre = "main_propre",
        Contact = "contact",
    }
}

/// A copy owed (`mode` empty) or handed over.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Remise {
    pub destinataire: String,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub du_le: DateTime<Utc>,
    pub mode: Option<ModeRemise>,
    pub remis_a: Option<String>,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub remis_le: Option<NaiveDate>,
    /// Who recorded it: « Prénom NOM ».
    pub par: Option<String>,
}

/// Records that `destinataire`'s copy is owed (once: a retried filing changes nothing).
pub async fn due(
    tx: &mut sqlx::AnyConnection,
    document_id: i64,
    destinataire: &str,
    le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO remise (document_id, destinataire, du_le) VALUES ($1, $2, $3)
         ON CONFLICT (document_id, destinataire) DO NOTHING",
    )
    .bind(document_id)
    .bind(destinataire)
    .bind(super::instant(le))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Records an owed copy as handed over; false when none was owed to `destinataire` (already
/// recorded, or never owed).
#[allow(clippy::too_many_arguments)]
pub async fn faite(
    tx: &mut sqlx::AnyConnection,
    document_id: i64,
    destinataire: &str,
    mode: ModeRemise,
    remis_a: Option<&str>,
    remis_le: NaiveDate,
    par_id: i64,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE remise SET mode = $1, remis_a = $2, remis_le = $3, par_id = $4
         WHERE document_id = $5 AND destinataire = $6 AND mode IS NULL",
    )
    .bind(mode.code())
    .bind(remis_a)
    .bind(super::jour(remis_le))
    .bind(par_id)
    .bind(document_id)
    .bind(destinataire)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// How many copies of the document are still owed.
pub async fn dues(tx: &mut sqlx::AnyConnection, document_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM remise WHERE document_id = $1 AND mode IS NULL")
        .bind(document_id)
        .fetch_one(&mut *tx)
        .await
}

/// The document's copies owed or handed over, by recipient.
pub async fn du_document<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    document_id: i64,
) -> Result<Vec<Remise>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.destinataire, r.du_le, r.mode, r.remis_a, r.remis_le,
           CASE WHEN p.id IS NULL THEN NULL ELSE p.prenom || ' ' || UPPER(p.nom) END AS par
         FROM remise r LEFT JOIN personnel p ON p.id = r.par_id
         WHERE r.document_id = $1 ORDER BY r.destinataire",
    )
    .bind(document_id)
    .fetch_all(db)
    .await
}

/// A copy still owed in a référent's portfolio, for his « à faire ».
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CopieDue {
    /// The document's reference.
    pub document: String,
    pub workflow: String,
    /// The participant's reference.
    pub participant: String,
    pub nom: String,
    pub prenom: String,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub du_le: DateTime<Utc>,
}

/// The copies owed to the participants `referent_id` follows, oldest first.
pub async fn dues_du_portefeuille(
    db: &super::Pool,
    plie: &str,
    referent_id: i64,
) -> Result<Vec<CopieDue>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.ref AS document, d.workflow, p.ref AS participant, p.nom, p.prenom, r.du_le
         FROM remise r JOIN document d ON d.id = r.document_id
           JOIN participant p ON p.id = d.participant_id
         WHERE r.mode IS NULL AND d.plie = $1 AND p.referent_id = $2
         ORDER BY r.du_le",
    )
    .bind(plie)
    .bind(referent_id)
    .fetch_all(db)
    .await
}
