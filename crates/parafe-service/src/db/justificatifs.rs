//! Justificatifs (the `justificatif` table) and what an opération's dossier reads: its
//! participants, their documents and pieces, the PLIE's card.

use super::Pool;
use chrono::{DateTime, NaiveDate, Utc};
use parafe_core::document::Etat;

/// When the same bytes were already filed in this dossier (opération, participant or none).
pub async fn deja_depose(
    db: &Pool,
    plie: &str,
    operation_id: i64,
    participant_id: Option<i64>,
    sha256: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let depose: Option<super::Lu<DateTime<Utc>>> = sqlx::query_scalar(
        "SELECT depose_le FROM justificatif WHERE plie = $1 AND operation_id = $2
         AND coalesce(participant_id, 0) = coalesce($3, 0) AND sha256 = $4",
    )
    .bind(plie)
    .bind(operation_id)
    .bind(participant_id)
    .bind(sha256)
    .fetch_optional(db)
    .await?;
    Ok(depose.map(|d| d.0))
}

/// A piece filed in the evidence store, to record.
pub struct NouveauJustificatif<'a> {
    pub plie: &'a str,
    pub operation_id: i64,
    pub participant_id: Option<i64>,
    pub etape: Option<&'a str>,
    pub genre: &'a str,
    pub catalogue_version: &'a str,
    pub nom_fichier: &'a str,
    pub type_mime: &'a str,
    pub sha256: &'a str,
    pub taille: u64,
    pub date_piece: Option<NaiveDate>,
    pub depose_par: i64,
    pub depose_le: DateTime<Utc>,
    /// Journal entry of the filing.
    pub depose_seq: u64,
}

pub async fn enregistrer(db: &Pool, j: &NouveauJustificatif<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO justificatif (plie, operation_id, participant_id, etape, genre,
            catalogue_version, nom_fichier, type_mime, sha256, taille, date_piece, depose_par,
            depose_le, depose_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(j.plie)
    .bind(j.operation_id)
    .bind(j.participant_id)
    .bind(j.etape)
    .bind(j.genre)
    .bind(j.catalogue_version)
    .bind(j.nom_fichier)
    .bind(j.type_mime)
    .bind(j.sha256)
    .bind(j.taille as i64)
    .bind(j.date_piece.map(super::jour))
    .bind(j.depose_par)
    .bind(super::instant(j.depose_le))
    .bind(j.depose_seq as i64)
    // To its end, not `fetch_one`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)
}

/// A participant of an opération's dossier.
#[derive(sqlx::FromRow)]
pub struct ParticipantDuDossier {
    pub id: i64,
    #[sqlx(rename = "ref")]
    pub reference: String,
    pub identifiant_externe: String,
    pub nom: String,
    pub prenom: String,
    pub commune: String,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_naissance: Option<NaiveDate>,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_entree: Option<NaiveDate>,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_sortie: Option<NaiveDate>,
    pub motif_sortie: Option<String>,
    pub referent_id: Option<i64>,
}

/// The participants of an opération (its own, and those with a document or a piece filed under
/// it): all, one (by reference or parcours identifier), or a référent's portfolio.
pub async fn participants(
    db: &Pool,
    plie: &str,
    operation_id: i64,
    participant: Option<&str>,
    portefeuille: Option<i64>,
) -> Result<Vec<ParticipantDuDossier>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, ref, identifiant_externe, nom, prenom, commune, date_naissance, date_entree,
                date_sortie, motif_sortie, referent_id
         FROM participant p
         WHERE plie = $1
           AND (operation_id = $2
                OR EXISTS (SELECT 1 FROM document d WHERE d.plie = $1 AND d.operation_id = $2
                           AND d.participant_id = p.id)
                OR EXISTS (SELECT 1 FROM justificatif j WHERE j.plie = $1 AND j.operation_id = $2
                           AND j.participant_id = p.id))
           AND ($3 IS NULL OR ref = $3 OR identifiant_externe = $3)
           AND ($4 IS NULL OR referent_id = $4)
         ORDER BY nom, prenom, ref",
    )
    .bind(plie)
    .bind(operation_id)
    .bind(participant)
    .bind(portefeuille)
    .fetch_all(db)
    .await
}

/// The documents of an opération (`?1` PLIE, `?2` opération id): those filed under it, and the
/// sheets one of its participants signed among several attendees (a workshop may gather the
/// participants of several opérations: the sheet is in each one's dossier).
const DOCUMENTS_DE_L_OPERATION: &str = "SELECT d.id FROM document d
    WHERE d.plie = $1 AND d.etat <> 'annule'
      AND (d.operation_id = $2
           OR (d.participant_id IS NULL AND d.id IN (
               SELECT s.document_id FROM signataire s JOIN participant p ON p.id = s.participant_id
               WHERE p.plie = $1 AND p.operation_id = $2 AND s.role = 'participant')))";

/// What [`DocumentDuDossier`] reads of a document `d`.
const COLONNES_DU_DOCUMENT: &str = "d.id, d.ref, d.modele, d.participant_id, d.etat, d.echeance,
    d.sha256_scelle, d.depose_seq, d.modifie_le,
    coalesce(json_extract(d.donnees, '$.date'), json_extract(d.donnees, '$.du')) AS date_donnees,
    (SELECT max(s.signe_le) FROM signataire s WHERE s.document_id = d.id) AS signe_le,
    (SELECT v.taille FROM version v WHERE v.document_id = d.id AND v.genre = 'scelle'
     ORDER BY v.numero DESC LIMIT 1) AS taille";

/// A document of an opération's dossier.
#[derive(sqlx::FromRow)]
pub struct DocumentDuDossier {
    pub id: i64,
    #[sqlx(rename = "ref")]
    pub reference: String,
    pub modele: String,
    pub participant_id: Option<i64>,
    #[sqlx(try_from = "super::documents::EtatLu")]
    pub etat: Etat,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub echeance: Option<NaiveDate>,
    pub sha256_scelle: Option<String>,
    pub depose_seq: Option<i64>,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub modifie_le: DateTime<Utc>,
    /// The date inside the data (interviews, bilans), else the first day of the period it
    /// covers (a time sheet's month), as typed.
    pub date_donnees: Option<String>,
    /// The last signature.
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub signe_le: Option<DateTime<Utc>>,
    /// Size of the sealed PDF.
    pub taille: Option<i64>,
}

pub async fn documents(
    db: &Pool,
    plie: &str,
    operation_id: i64,
) -> Result<Vec<DocumentDuDossier>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES_DU_DOCUMENT} FROM document d WHERE d.id IN ({DOCUMENTS_DE_L_OPERATION})
         ORDER BY d.id"
    ))
    .bind(plie)
    .bind(operation_id)
    .fetch_all(db)
    .await
}

/// The attendees (document id, participant id) of each sheet of the opération signed by several.
pub async fn presents(
    db: &Pool,
    plie: &str,
    operation_id: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT s.document_id, s.participant_id FROM signataire s
         JOIN document d ON d.id = s.document_id
         WHERE d.participant_id IS NULL AND s.role = 'participant'
           AND s.participant_id IS NOT NULL AND d.id IN ({DOCUMENTS_DE_L_OPERATION})"
    ))
    .bind(plie)
    .bind(operation_id)
    .fetch_all(db)
    .await
}

/// The staff members (document id, role, account, name as the document gives it) who sign the
/// opération's own documents (no participant's: a time sheet, a poster's proof).
pub async fn personnel_signataire(
    db: &Pool,
    plie: &str,
    operation_id: i64,
) -> Result<Vec<(i64, String, i64, String)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT s.document_id, s.role, s.personnel_id, s.nom FROM signataire s
         JOIN document d ON d.id = s.document_id
         WHERE d.participant_id IS NULL AND s.personnel_id IS NOT NULL
           AND d.id IN ({DOCUMENTS_DE_L_OPERATION})
         ORDER BY s.document_id, s.rang"
    ))
    .bind(plie)
    .bind(operation_id)
    .fetch_all(db)
    .await
}

/// An opération's own document signed by a staff member from his account, one row per staff
/// signer, with the opération's code and the signer's e-mail.
#[derive(sqlx::FromRow)]
pub struct DocumentDuPersonnel {
    #[sqlx(flatten)]
    pub document: DocumentDuDossier,
    pub plie: String,
    pub operation: String,
    pub role: String,
    pub personnel_id: i64,
    pub nom: String,
    pub email: String,
}

/// The PLIE's opération documents (not a participant's) of these templates that staff sign
/// from their account in `role` (or that `personnel` signs so): a few per staff member and
/// month, found by the signers' index.
pub async fn documents_du_personnel(
    db: &Pool,
    plie: &str,
    role: &str,
    modeles: &[String],
    personnel: Option<i64>,
) -> Result<Vec<DocumentDuPersonnel>, sqlx::Error> {
    let mut requete = crate::db::Requete::new(
        super::Dialecte::du_pool(db),
        &format!(
            "SELECT {COLONNES_DU_DOCUMENT}, d.plie, o.code AS operation, s.role, s.personnel_id,
                    s.nom, r.email
             FROM signataire s JOIN document d ON d.id = s.document_id
             JOIN operation o ON o.id = d.operation_id AND o.plie = d.plie
             JOIN personnel r ON r.id = s.personnel_id
             WHERE d.participant_id IS NULL AND d.etat <> 'annule' AND d.plie = "
        ),
    );
    requete
        .push_bind(plie.to_owned())
        .push(" AND s.role = ")
        .push_bind(role.to_owned());
    match personnel {
        Some(p) => requete.push(" AND s.personnel_id = ").push_bind(p),
        None => requete.push(" AND s.personnel_id IS NOT NULL"),
    };
    requete.push(" AND d.modele IN (");
    let mut liste = requete.separated(", ");
    for m in modeles {
        liste.push_bind(m.clone());
    }
    requete.push(") ORDER BY d.id, s.rang");
    requete.build_query_as().fetch_all(db).await
}

/// A justificatif as the dossier shows it.
#[derive(sqlx::FromRow)]
pub struct Justificatif {
    pub id: i64,
    pub participant_id: Option<i64>,
    pub etape: Option<String>,
    pub genre: String,
    pub nom_fichier: String,
    pub type_mime: String,
    pub sha256: String,
    pub taille: i64,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_piece: Option<NaiveDate>,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub depose_le: DateTime<Utc>,
    pub depose_seq: i64,
}

pub async fn de_l_operation(
    db: &Pool,
    plie: &str,
    operation_id: i64,
) -> Result<Vec<Justificatif>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, participant_id, etape, genre, nom_fichier, type_mime, sha256, taille,
                date_piece, depose_le, depose_seq
         FROM justificatif WHERE plie = $1 AND operation_id = $2 ORDER BY id",
    )
    .bind(plie)
    .bind(operation_id)
    .fetch_all(db)
    .await
}

/// The PLIE as documents show it (name, structure, address, JSON): its card if it was filled,
/// else the `plie` object of the opération's latest document.
pub async fn plie_donnees(
    db: &Pool,
    plie: &str,
    operation_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let fiche: Option<String> = sqlx::query_scalar(
        "SELECT fiche FROM plie WHERE id = $1 AND json_type(fiche, '$.adresse') = 'object'",
    )
    .bind(plie)
    .fetch_optional(db)
    .await?;
    if fiche.is_some() {
        return Ok(fiche);
    }
    Ok(sqlx::query_scalar(
        "SELECT json_extract(donnees, '$.plie') FROM document
         WHERE plie = $1 AND operation_id = $2 AND json_type(donnees, '$.plie') = 'object'
         ORDER BY id DESC LIMIT 1",
    )
    .bind(plie)
    .bind(operation_id)
    .fetch_optional(db)
    .await?
    .flatten())
}

/// What the evidence store is asked for to hand a justificatif out.
#[derive(sqlx::FromRow)]
pub struct Fichier {
    pub nom_fichier: String,
    pub type_mime: String,
    pub sha256: String,
    pub taille: i64,
}

/// A justificatif of the PLIE, if a portfolio is given, one of its participants'.
pub async fn fichier(
    db: &Pool,
    plie: &str,
    id: i64,
    portefeuille: Option<i64>,
) -> Result<Option<Fichier>, sqlx::Error> {
    sqlx::query_as(
        "SELECT j.nom_fichier, j.type_mime, j.sha256, j.taille FROM justificatif j
         LEFT JOIN participant p ON p.id = j.participant_id
         WHERE j.plie = $1 AND j.id = $2 AND ($3 IS NULL OR p.referent_id = $3)",
    )
    .bind(plie)
    .bind(id)
    .bind(portefeuille)
    .fetch_optional(db)
    .await
}
