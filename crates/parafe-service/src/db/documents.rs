//! Documents (workflow instances), their versions, signers and state history.

use super::Pool;
use chrono::{DateTime, NaiveDate, Utc};
use parafe_core::document::Etat;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Document {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub plie: String,
    #[sqlx(rename = "ref")]
    #[serde(rename = "ref")]
    pub reference: String,
    pub workflow: String,
    pub modele: String,
    #[serde(skip)]
    pub participant_id: Option<i64>,
    #[serde(skip)]
    pub operation_id: Option<i64>,
    #[serde(skip)]
    pub auteur_id: Option<i64>,
    #[sqlx(try_from = "EtatLu")]
    pub etat: Etat,
    #[serde(skip)]
    pub donnees: String,
    pub bilan: Option<String>,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub echeance: Option<NaiveDate>,
    #[serde(serialize_with = "super::en_instant_option")]
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub envoye_le: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::en_instant_option")]
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub expire_le: Option<DateTime<Utc>>,
    pub sha256_rendu: Option<String>,
    pub sha256_scelle: Option<String>,
    pub depose_seq: Option<i64>,
    #[serde(serialize_with = "super::en_instant")]
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub cree_le: DateTime<Utc>,
    #[serde(serialize_with = "super::en_instant")]
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub modifie_le: DateTime<Utc>,
}

/// A document's state as its column decodes: an unknown value is an error that keeps the
/// message of [`parafe_core::document::EtatInconnu`] (`#[sqlx(try_from = "String")]` would lose it).
#[derive(Serialize)]
#[serde(transparent)]
pub struct EtatLu(pub Etat);

impl sqlx::Type<sqlx::Any> for EtatLu {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <String as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for EtatLu {
    fn decode(valeur: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let code = <String as sqlx::Decode<'r, sqlx::Any>>::decode(valeur)?;
        Ok(EtatLu(Etat::try_from(code)?))
    }
}

impl From<EtatLu> for Etat {
    fn from(e: EtatLu) -> Etat {
        e.0
    }
}

const COLONNES: &str = "id, plie, ref, workflow, modele, participant_id, operation_id, auteur_id,
    etat, donnees, bilan, echeance, envoye_le, expire_le, sha256_rendu, sha256_scelle, depose_seq,
    cree_le, modifie_le";

/// What a new document is made of.
pub struct NouveauDocument<'a> {
    pub plie: &'a str,
    pub workflow: &'a str,
    pub modele: &'a str,
    pub participant_id: Option<i64>,
    pub operation_id: Option<i64>,
    pub auteur_id: Option<i64>,
    pub donnees: &'a str,
    pub bilan: Option<&'a str>,
    pub echeance: Option<&'a str>,
}

pub struct NouveauSignataire {
    pub role: String,
    pub nom: String,
    pub email: Option<String>,
    pub methode: String,
    pub personnel_id: Option<i64>,
    pub participant_id: Option<i64>,
}

/// Inserts a draft and its signers; returns its id.
pub async fn creer(
    tx: &mut sqlx::AnyConnection,
    reference: &str,
    d: &NouveauDocument<'_>,
    signataires: &[NouveauSignataire],
    le: &str,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO document (plie, ref, workflow, modele, participant_id, operation_id, auteur_id,
           etat, donnees, bilan, echeance, cree_le, modifie_le)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'brouillon', $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(d.plie)
    .bind(reference)
    .bind(d.workflow)
    .bind(d.modele)
    .bind(d.participant_id)
    .bind(d.operation_id)
    .bind(d.auteur_id)
    .bind(d.donnees)
    .bind(d.bilan)
    .bind(d.echeance)
    .bind(le)
    .bind(le)
    .fetch_one(&mut *tx)
    .await?;
    for (rang, s) in signataires.iter().enumerate() {
        sqlx::query(
            "INSERT INTO signataire (document_id, rang, role, nom, email, methode, personnel_id,
               participant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(rang as i64)
        .bind(&s.role)
        .bind(&s.nom)
        .bind(&s.email)
        .bind(&s.methode)
        .bind(s.personnel_id)
        .bind(s.participant_id)
        .execute(&mut *tx)
        .await?;
    }
    Ok(id)
}

/// The documents a référent (`?3`, NULL for everyone else) may read: his own, his
/// participants', the sheets one of his participants signs among several attendees, and those
/// he signs himself (his time sheet).
const PORTEFEUILLE: &str = "($3 IS NULL OR d.auteur_id = $3
    OR EXISTS (SELECT 1 FROM participant p WHERE p.id = d.participant_id AND p.referent_id = $3)
    OR EXISTS (SELECT 1 FROM signataire s JOIN participant p ON p.id = s.participant_id
               WHERE s.document_id = d.id AND s.role = 'participant' AND p.referent_id = $3)
    OR EXISTS (SELECT 1 FROM signataire s WHERE s.document_id = d.id AND s.personnel_id = $3))";

/// A document of the PLIE by reference, if the référent's portfolio reaches it ([`PORTEFEUILLE`]).
pub async fn par_ref<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    plie: &str,
    reference: &str,
    portefeuille: Option<i64>,
) -> Result<Option<Document>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM document d WHERE d.plie = $1 AND d.ref = $2 AND {PORTEFEUILLE}"
    ))
    .bind(plie)
    .bind(reference)
    .bind(portefeuille)
    .fetch_optional(db)
    .await
}

pub async fn par_id<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
) -> Result<Option<Document>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLONNES} FROM document WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Every document still collecting signatures, of every PLIE (for the schedule's reminders
/// and expiries).
pub async fn en_signature(db: &Pool) -> Result<Vec<Document>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM document WHERE etat IN ('envoye', 'partiellement_signe')"
    ))
    .fetch_all(db)
    .await
}

/// Filters of a document list; every filter is optional.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filtre {
    pub participant: Option<String>,
    pub etat: Option<String>,
    pub workflow: Option<String>,
    pub bilan: Option<String>,
}

pub async fn liste(
    db: &Pool,
    plie: &str,
    portefeuille: Option<i64>,
    f: &Filtre,
    limite: i64,
) -> Result<Vec<Document>, sqlx::Error> {
    // A participant's documents: his own, and the sheets he signs among several attendees.
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM document d WHERE d.plie = $1 AND {PORTEFEUILLE}
         AND ($2 IS NULL
              OR d.participant_id = (SELECT id FROM participant WHERE plie = $1 AND ref = $2)
              OR d.id IN (SELECT s.document_id FROM signataire s
                          JOIN participant p ON p.id = s.participant_id
                          WHERE p.plie = $1 AND p.ref = $2 AND s.role = 'participant'))
         AND ($4 IS NULL OR d.etat = $4) AND ($5 IS NULL OR d.workflow = $5)
         AND ($6 IS NULL OR d.bilan = $6)
         ORDER BY coalesce(d.echeance, d.cree_le), d.id LIMIT $7"
    ))
    .bind(plie)
    .bind(&f.participant)
    .bind(portefeuille)
    .bind(&f.etat)
    .bind(&f.workflow)
    .bind(&f.bilan)
    .bind(limite)
    .fetch_all(db)
    .await
}

/// Moves a document from `de` to `vers` if it is still in `de` (a concurrent change makes this
/// return false rather than overwrite it), and records the step in its history.
pub async fn transition(
    tx: &mut sqlx::AnyConnection,
    document_id: i64,
    de: Etat,
    vers: Etat,
    acteur: &str,
    le: &str,
) -> Result<bool, sqlx::Error> {
    let fait =
        sqlx::query("UPDATE document SET etat = $1, modifie_le = $2 WHERE id = $3 AND etat = $4")
            .bind(vers.code())
            .bind(le)
            .bind(document_id)
            .bind(de.code())
            .execute(&mut *tx)
            .await?;
    if fait.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO evenement (document_id, de, vers, acteur, le) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(document_id)
    .bind(de.code())
    .bind(vers.code())
    .bind(acteur)
    .bind(le)
    .execute(&mut *tx)
    .await?;
    Ok(true)
}

/// Adds a version (rendered for signing, or sealed) of a document.
pub async fn ajouter_version(
    tx: &mut sqlx::AnyConnection,
    document_id: i64,
    genre: &str,
    sha256: &str,
    taille: i64,
    le: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO version (document_id, numero, genre, sha256, taille, cree_le)
         VALUES ($1, (SELECT coalesce(max(numero), 0) + 1 FROM version WHERE document_id = $2), $3, $4, $5, $6)",
    )
    .bind(document_id)
    .bind(document_id)
    .bind(genre)
    .bind(sha256)
    .bind(taille)
    .bind(le)
    .execute(&mut *tx)
    .await?;
    let colonne = if genre == "scelle" {
        "sha256_scelle"
    } else {
        "sha256_rendu"
    };
    sqlx::query(&format!("UPDATE document SET {colonne} = $1 WHERE id = $2"))
        .bind(sha256)
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Replaces a document's data (an attendee added on the spot, a signer's fields, a sheet's
/// closing); `modifie_le` when it counts as a change of the document.
pub async fn changer_donnees(
    tx: &mut sqlx::AnyConnection,
    document_id: i64,
    donnees: &str,
    modifie_le: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE document SET donnees = $1, modifie_le = coalesce($2, modifie_le) WHERE id = $3",
    )
    .bind(donnees)
    .bind(modifie_le)
    .bind(document_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Marks a document modified now (a reminder sent).
pub async fn toucher(tx: &mut sqlx::AnyConnection, id: i64, le: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE document SET modifie_le = $1 WHERE id = $2")
        .bind(le)
        .bind(id)
        .execute(tx)
        .await
        .map(|_| ())
}

/// Replaces a draft's data; false if it is no longer a draft.
pub async fn modifier_brouillon(
    db: &Pool,
    document_id: i64,
    donnees: &str,
    le: &str,
) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query(
        "UPDATE document SET donnees = $1, modifie_le = $2 WHERE id = $3 AND etat = $4",
    )
    .bind(donnees)
    .bind(le)
    .bind(document_id)
    .bind(Etat::Brouillon.code())
    .execute(db)
    .await?;
    Ok(fait.rows_affected() == 1)
}

/// When a document went for signature, and when its links expire.
pub async fn marquer_envoye(
    tx: &mut sqlx::AnyConnection,
    document_id: i64,
    envoye_le: &str,
    expire_le: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE document SET envoye_le = $1, expire_le = $2 WHERE id = $3")
        .bind(envoye_le)
        .bind(expire_le)
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The journal entry that records a document filed in the vault.
pub async fn marquer_depose(
    tx: &mut sqlx::AnyConnection,
    document_id: i64,
    seq: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE document SET depose_seq = $1 WHERE id = $2")
        .bind(seq)
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A step of a document's history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Evenement {
    #[sqlx(try_from = "EtatLu")]
    pub vers: Etat,
    pub acteur: String,
    #[sqlx(try_from = "super::Lu<chrono::DateTime<chrono::Utc>>")]
    pub le: chrono::DateTime<chrono::Utc>,
}

/// A document's history, oldest first.
pub async fn evenements(db: &Pool, document_id: i64) -> Result<Vec<Evenement>, sqlx::Error> {
    sqlx::query_as("SELECT vers, acteur, le FROM evenement WHERE document_id = $1 ORDER BY id")
        .bind(document_id)
        .fetch_all(db)
        .await
}
