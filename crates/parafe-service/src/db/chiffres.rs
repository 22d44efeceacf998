//! What the PLIE's figures read of an opération over a period, in three statements: one row
//! per participant in the parcours during the period, his questionnaire's moments alongside
//! (the driver's cost is per row returned, so the answers come as columns of his row, not rows
//! of their own); the staff who owe time sheets; the signed time sheets of the period.

use super::Pool;
use chrono::NaiveDate;

/// A participant in the parcours during the period, with his recorded answers (never
/// serialized: a list of participants shows who they are, not what they answered).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Participant {
    #[sqlx(rename = "ref")]
    #[serde(rename = "ref")]
    pub reference: String,
    /// The parcours software's identifier.
    #[serde(rename = "identifiant")]
    pub identifiant_externe: String,
    pub nom: String,
    pub prenom: String,
    #[sqlx(try_from = "super::Lu<NaiveDate>")]
    pub date_entree: NaiveDate,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_sortie: Option<NaiveDate>,
    pub motif_sortie: Option<String>,
    #[serde(skip)]
    pub referent_id: Option<i64>,
    /// JSON of each moment's answers (`parafe_fse::Reponses`), when recorded.
    #[serde(skip)]
    pub entree: Option<String>,
    #[serde(skip)]
    pub sortie: Option<String>,
    #[serde(skip)]
    pub six_mois: Option<String>,
}

/// The participants of opération `operation_id` in the parcours at some day of `du`..=`au`
/// (entered by `au`, not exited before `du`), by reference.
pub async fn participants(
    db: &Pool,
    plie: &str,
    operation_id: i64,
    du: NaiveDate,
    au: NaiveDate,
) -> Result<Vec<Participant>, sqlx::Error> {
    let moment = |m: &str| {
        format!(
            "(SELECT q.reponses FROM questionnaire q WHERE q.participant_id = p.id
               AND q.operation_id = p.operation_id AND q.moment = '{m}') AS {m}"
        )
    };
    sqlx::query_as(&format!(
        "SELECT p.ref, p.identifiant_externe, p.nom, p.prenom, p.date_entree, p.date_sortie,
                p.motif_sortie, p.referent_id, {}, {}, {}
         FROM participant p
         WHERE p.plie = $1 AND p.operation_id = $2 AND p.date_entree IS NOT NULL
           AND p.date_entree <= $4 AND (p.date_sortie IS NULL OR p.date_sortie >= $3)
         ORDER BY p.ref",
        moment("entree"),
        moment("sortie"),
        moment("six_mois"),
    ))
    .bind(plie)
    .bind(operation_id)
    .bind(super::jour(du))
    .bind(super::jour(au))
    .fetch_all(db)
    .await
}

/// A staff member of the opération.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Personnel {
    pub id: i64,
    pub nom: String,
    pub prenom: String,
}

/// Where a time sheet signed by its employee names him.
const SALARIES: &str = "SELECT s.personnel_id FROM signataire s
    JOIN document d ON d.id = s.document_id
    WHERE d.plie = $1 AND d.operation_id = $2 AND d.workflow = 'feuille-temps'
      AND d.etat <> 'annule' AND s.role = 'salarie'";

/// The staff who owe time sheets on the opération: the référents of its participants in the
/// parcours during the period, and whoever has a time sheet on it; by name.
pub async fn personnel(
    db: &Pool,
    plie: &str,
    operation_id: i64,
    du: NaiveDate,
    au: NaiveDate,
) -> Result<Vec<Personnel>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT e.id, e.nom, e.prenom FROM personnel e
         WHERE e.plie = $1 AND (
           e.id IN (SELECT p.referent_id FROM participant p
                    WHERE p.plie = $1 AND p.operation_id = $2 AND p.date_entree <= $4
                      AND (p.date_sortie IS NULL OR p.date_sortie >= $3))
           OR e.id IN ({SALARIES}))
         ORDER BY e.nom, e.prenom, e.id"
    ))
    .bind(plie)
    .bind(operation_id)
    .bind(super::jour(du))
    .bind(super::jour(au))
    .fetch_all(db)
    .await
}

/// The signed time sheets of the opération overlapping the period: (employee, first day of the
/// period the sheet covers, as typed).
pub async fn feuilles_signees(
    db: &Pool,
    plie: &str,
    operation_id: i64,
    du: NaiveDate,
    au: NaiveDate,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.personnel_id, json_extract(d.donnees, '$.du') FROM document d
         JOIN signataire s ON s.document_id = d.id AND s.role = 'salarie'
         WHERE d.plie = $1 AND d.operation_id = $2 AND d.workflow = 'feuille-temps'
           AND d.etat IN ('signe', 'scelle', 'depose', 'delivre')
           AND s.personnel_id IS NOT NULL
           AND json_extract(d.donnees, '$.du') <= $4 AND json_extract(d.donnees, '$.au') >= $3",
    )
    .bind(plie)
    .bind(operation_id)
    .bind(super::jour(du))
    .bind(super::jour(au))
    .fetch_all(db)
    .await
}
