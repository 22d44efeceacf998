//! The signers of a document: their turn, their link and confirmation code, their signature
//! or refusal, and the codes sent to them.

use chrono::{DateTime, Utc};
use serde::Serialize;

super::etat_stocke! {
    /// Where a signer stands.
    EtatSignataire, "de signataire", {
        Attente = "attente",
        Signe = "signe",
        Refuse = "refuse",
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Signataire {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub document_id: i64,
    pub rang: i64,
    pub role: String,
    pub nom: String,
    pub email: Option<String>,
    pub methode: String,
    #[serde(skip)]
    pub personnel_id: Option<i64>,
    #[serde(skip)]
    pub participant_id: Option<i64>,
    pub etat: EtatSignataire,
    #[serde(serialize_with = "super::en_instant_option")]
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub signe_le: Option<DateTime<Utc>>,
    pub version_sha256: Option<String>,
    pub motif_refus: Option<String>,
}

const COLONNES: &str = "id, document_id, rang, role, nom, email, methode, personnel_id,
    participant_id, etat, signe_le, version_sha256, motif_refus";

/// A document's signers, in their order.
pub async fn du_document<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    document_id: i64,
) -> Result<Vec<Signataire>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM signataire WHERE document_id = $1 ORDER BY rang"
    ))
    .bind(document_id)
    .fetch_all(db)
    .await
}

/// A signer's place, role and state on a document, if he is on it.
pub async fn sur_le_document<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    document_id: i64,
    id: i64,
) -> Result<Option<Signataire>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM signataire WHERE document_id = $1 AND id = $2"
    ))
    .bind(document_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// What a signing link (by the SHA-256 of its token) is worth.
#[derive(Debug, sqlx::FromRow)]
pub struct Lien {
    pub id: i64,
    pub document_id: i64,
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub jeton_expire_le: Option<DateTime<Utc>>,
    #[sqlx(try_from = "super::Lu<bool>")]
    pub jeton_utilise: bool,
    pub code_essais: i64,
}

pub async fn par_jeton<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    jeton_sha256: &str,
) -> Result<Option<Lien>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, document_id, jeton_expire_le, jeton_utilise, code_essais FROM signataire
         WHERE jeton_sha256 = $1",
    )
    .bind(jeton_sha256)
    .fetch_optional(db)
    .await
}

/// A new invitation for a link signer: the previous link and any code confirmed on it stop
/// working.
pub async fn inviter(
    tx: &mut sqlx::AnyConnection,
    id: i64,
    invitation: &str,
    jeton_expire_le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE signataire SET invitation = $1, jeton_sha256 = NULL, jeton_expire_le = $2,
           jeton_utilise = 0, code_sha256 = NULL, code_essais = 0, code_verifie_le = NULL,
           code_lien = NULL
         WHERE id = $3",
    )
    .bind(invitation)
    .bind(super::instant(jeton_expire_le))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The end of a request: the links of its signers stop working.
pub async fn clore_les_liens(
    tx: &mut sqlx::AnyConnection,
    document_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE signataire SET jeton_utilise = 1 WHERE document_id = $1")
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Records a code sent to a signer (`lien`: the link's SHA-256; `adresse`: the address's),
/// unless one went on this link since `minute`, or the link or the address had their quota
/// since `heure`. Sends before `heure` are forgotten first. True when the code may go.
#[allow(clippy::too_many_arguments)]
pub async fn admettre_code(
    tx: &mut sqlx::AnyConnection,
    signataire: i64,
    lien: &str,
    adresse: &str,
    le: DateTime<Utc>,
    minute: DateTime<Utc>,
    heure: DateTime<Utc>,
    par_lien: i64,
    par_adresse: i64,
) -> Result<bool, sqlx::Error> {
    let heure = super::instant(heure);
    // Always the link first, then the address: two sendings never wait on each other in a ring.
    super::verrouiller(tx, &format!("code:{lien}")).await?;
    super::verrouiller(tx, &format!("code-adresse:{adresse}")).await?;
    sqlx::query("DELETE FROM envoi_code WHERE le <= $1")
        .bind(&heure)
        .execute(&mut *tx)
        .await?;
    let admis = sqlx::query(
        "INSERT INTO envoi_code (signataire_id, lien, adresse, le)
         SELECT $1, $2, $3, $4
         WHERE NOT EXISTS (SELECT 1 FROM envoi_code WHERE lien = $2 AND le > $5)
           AND (SELECT count(*) FROM envoi_code WHERE lien = $2 AND le > $6) < $7
           AND (SELECT count(*) FROM envoi_code WHERE adresse = $3 AND le > $6) < $8",
    )
    .bind(signataire)
    .bind(lien)
    .bind(adresse)
    .bind(super::instant(le))
    .bind(super::instant(minute))
    .bind(&heure)
    .bind(par_lien)
    .bind(par_adresse)
    .execute(&mut *tx)
    .await?;
    Ok(admis.rows_affected() == 1)
}

/// Whether a code went on this link since `depuis`.
pub async fn code_envoye_depuis(
    tx: &mut sqlx::AnyConnection,
    lien: &str,
    depuis: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let envoye: super::Lu<bool> =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM envoi_code WHERE lien = $1 AND le > $2)")
            .bind(lien)
            .bind(super::instant(depuis))
            .fetch_one(&mut *tx)
            .await?;
    Ok(envoye.0)
}

/// One more try at the code of a link, counted before it is checked.
#[derive(Debug, sqlx::FromRow)]
pub struct EssaiCode {
    pub code_essais: i64,
    pub code_sha256: Option<String>,
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub code_expire_le: Option<DateTime<Utc>>,
}

/// Counts a try at the code on this link; None when the link has had its `maximum`.
pub async fn essayer_code<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
    lien: &str,
    maximum: i64,
) -> Result<Option<EssaiCode>, sqlx::Error> {
    Ok(sqlx::query_as(
        "UPDATE signataire SET code_essais = code_essais + 1
         WHERE id = $1 AND jeton_sha256 = $2 AND code_essais < $3
         RETURNING code_essais, code_sha256, code_expire_le",
    )
    .bind(id)
    .bind(lien)
    .bind(maximum)
    // To its end, not `fetch_optional`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await?
    .pop())
}

/// A right code: the try does not count, the code is spent, the link is confirmed `le`.
pub async fn confirmer_code<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
    lien: &str,
    le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE signataire SET code_essais = code_essais - 1, code_verifie_le = $1,
           code_lien = $2, code_sha256 = NULL WHERE id = $3",
    )
    .bind(super::instant(le))
    .bind(lien)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// When a code was last confirmed for the signer, and on which link (its SHA-256).
#[derive(Debug, sqlx::FromRow)]
pub struct Confirmation {
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub code_verifie_le: Option<DateTime<Utc>>,
    pub code_lien: Option<String>,
}

pub async fn confirmation<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
) -> Result<Confirmation, sqlx::Error> {
    sqlx::query_as("SELECT code_verifie_le, code_lien FROM signataire WHERE id = $1")
        .bind(id)
        .fetch_one(db)
        .await
}

/// A waiting signer declines; his link is spent.
pub async fn refuser(
    tx: &mut sqlx::AnyConnection,
    id: i64,
    motif: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE signataire SET etat = $1, motif_refus = $2, jeton_utilise = 1
         WHERE id = $3 AND etat = $4",
    )
    .bind(EtatSignataire::Refuse.code())
    .bind(motif)
    .bind(id)
    .bind(EtatSignataire::Attente.code())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A signature and its evidence.
pub struct NouvelleSignature<'a> {
    pub le: DateTime<Utc>,
    pub ip: &'a str,
    pub agent: &'a str,
    /// The version shown when signing.
    pub version_sha256: &'a str,
    pub png: Option<&'a [u8]>,
    pub traits: &'a str,
    pub consentement: &'a str,
}

/// Records the signature of a waiting signer (his link is spent); false if he is not waiting.
pub async fn signer(
    tx: &mut sqlx::AnyConnection,
    id: i64,
    s: &NouvelleSignature<'_>,
) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query(
        "UPDATE signataire SET etat = $1, signe_le = $2, ip = $3, agent = $4, version_sha256 = $5,
           signature_png = $6, traits = $7, consentement = $8, jeton_utilise = 1
         WHERE id = $9 AND etat = $10",
    )
    .bind(EtatSignataire::Signe.code())
    .bind(super::instant(s.le))
    .bind(s.ip)
    .bind(s.agent)
    .bind(s.version_sha256)
    .bind(s.png)
    .bind(s.traits)
    .bind(s.consentement)
    .bind(id)
    .bind(EtatSignataire::Attente.code())
    .execute(&mut *tx)
    .await?;
    if fait.rows_affected() != 1 {
        return Ok(false);
    }
    // The participant's last signature on this workflow, which the follow-up rules read.
    sqlx::query(
        "INSERT INTO derniere_signature (participant_id, workflow, signe_le)
         SELECT s.participant_id, d.workflow, s.signe_le
         FROM signataire s JOIN document d ON d.id = s.document_id
         WHERE s.id = $1 AND s.participant_id IS NOT NULL
         ON CONFLICT (participant_id, workflow) DO UPDATE SET signe_le = excluded.signe_le
         WHERE excluded.signe_le > derniere_signature.signe_le",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(true)
}

/// A signature as the evidence of the sealed document shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct Signe {
    pub rang: i64,
    pub role: String,
    pub nom: String,
    pub methode: String,
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub signe_le: Option<DateTime<Utc>>,
    pub ip: Option<String>,
    pub agent: Option<String>,
    pub traits: Option<String>,
    pub version_sha256: Option<String>,
}

/// The signatures of a document, in the signers' order.
pub async fn signes<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    document_id: i64,
) -> Result<Vec<Signe>, sqlx::Error> {
    sqlx::query_as(
        "SELECT rang, role, nom, methode, signe_le, ip, agent, traits, version_sha256
         FROM signataire WHERE document_id = $1 AND etat = $2 ORDER BY rang",
    )
    .bind(document_id)
    .bind(EtatSignataire::Signe.code())
    .fetch_all(db)
    .await
}

/// The addresses of a document's signers of this role.
pub async fn emails_du_role<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    document_id: i64,
    role: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT email FROM signataire WHERE document_id = $1 AND role = $2 AND email IS NOT NULL",
    )
    .bind(document_id)
    .bind(role)
    .fetch_all(db)
    .await
}

/// Adds an attendee signing on the tablet at the end of the attendees, the signers after them
/// (the animator) moving one place down; returns his id.
pub async fn ajouter_present(
    tx: &mut sqlx::AnyConnection,
    document_id: i64,
    nom: &str,
    participant_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    let rang: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(rang), -1) + 1 FROM signataire WHERE document_id = $1 AND role = 'participant'",
    )
    .bind(document_id)
    .fetch_one(&mut *tx)
    .await?;
    // Everyone after moves one place down, last first.
    let apres: Vec<i64> = sqlx::query_scalar(
        "SELECT rang FROM signataire WHERE document_id = $1 AND rang >= $2 ORDER BY rang DESC",
    )
    .bind(document_id)
    .bind(rang)
    .fetch_all(&mut *tx)
    .await?;
    for r in apres {
        sqlx::query("UPDATE signataire SET rang = rang + 1 WHERE document_id = $1 AND rang = $2")
            .bind(document_id)
            .bind(r)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query_scalar(
        "INSERT INTO signataire (document_id, rang, role, nom, methode, participant_id)
         VALUES ($1, $2, 'participant', $3, 'tablette', $4) RETURNING id",
    )
    .bind(document_id)
    .bind(rang)
    .bind(nom)
    .bind(participant_id)
    .fetch_one(&mut *tx)
    .await
}

/// Takes waiting attendees off a sheet (absent at its closing).
pub async fn retirer_absents(tx: &mut sqlx::AnyConnection, ids: &[i64]) -> Result<(), sqlx::Error> {
    for id in ids {
        sqlx::query("DELETE FROM signataire WHERE id = $1 AND etat = $2")
            .bind(id)
            .bind(EtatSignataire::Attente.code())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
