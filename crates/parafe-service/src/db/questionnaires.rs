//! FSE questionnaires (the `questionnaire` table): a participant's answers in an opération, one
//! row per moment of collection, and what the export to Ma Démarche FSE reads of an opération.

use super::Pool;
use chrono::{DateTime, NaiveDate, Utc};
use parafe_fse::Moment;

super::etat_stocke! {
    /// A moment of collection as stored: the crate's codes.
    MomentStocke, "de moment du questionnaire FSE", {
        Entree = "entree",
        Sortie = "sortie",
        SixMois = "six_mois",
    }
}

impl From<Moment> for MomentStocke {
    fn from(m: Moment) -> MomentStocke {
        match m {
            Moment::Entree => MomentStocke::Entree,
            Moment::Sortie => MomentStocke::Sortie,
            Moment::SixMois => MomentStocke::SixMois,
        }
    }
}

impl From<MomentStocke> for Moment {
    fn from(m: MomentStocke) -> Moment {
        match m {
            MomentStocke::Entree => Moment::Entree,
            MomentStocke::Sortie => Moment::Sortie,
            MomentStocke::SixMois => Moment::SixMois,
        }
    }
}

/// One moment's answers as recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Ligne {
    pub programme: String,
    pub version: String,
    /// JSON of the crate's `Reponses`.
    pub reponses: String,
    #[sqlx(try_from = "super::Lu<NaiveDate>")]
    pub recueilli_le: NaiveDate,
    pub saisi_par: i64,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub saisi_le: DateTime<Utc>,
}

/// The answers of `moment`, if recorded.
pub async fn un(
    db: &Pool,
    plie: &str,
    participant_id: i64,
    operation_id: i64,
    moment: Moment,
) -> Result<Option<Ligne>, sqlx::Error> {
    sqlx::query_as(
        "SELECT programme, version, reponses, recueilli_le, saisi_par, saisi_le FROM questionnaire
         WHERE plie = $1 AND participant_id = $2 AND operation_id = $3 AND moment = $4",
    )
    .bind(plie)
    .bind(participant_id)
    .bind(operation_id)
    .bind(MomentStocke::from(moment).code())
    .fetch_optional(db)
    .await
}

/// When each recorded moment was collected, without its answers (a state is no read of them).
pub async fn recueils(
    db: &Pool,
    plie: &str,
    participant_id: i64,
    operation_id: i64,
) -> Result<Vec<(MomentStocke, NaiveDate)>, sqlx::Error> {
    let lignes: Vec<(MomentStocke, super::Lu<NaiveDate>)> = sqlx::query_as(
        "SELECT moment, recueilli_le FROM questionnaire
         WHERE plie = $1 AND participant_id = $2 AND operation_id = $3",
    )
    .bind(plie)
    .bind(participant_id)
    .bind(operation_id)
    .fetch_all(db)
    .await?;
    Ok(lignes.into_iter().map(|(m, le)| (m, le.0)).collect())
}

/// A moment's answers to record.
pub struct NouvelleLigne<'a> {
    pub plie: &'a str,
    pub participant_id: i64,
    pub operation_id: i64,
    pub moment: Moment,
    pub programme: &'a str,
    pub version: &'a str,
    pub reponses: &'a str,
    pub recueilli_le: NaiveDate,
    pub saisi_par: i64,
    pub saisi_le: DateTime<Utc>,
}

/// Records a moment's answers, replacing those recorded before: one statement, so that a
/// reader sees the old row or the new, never a mix.
pub async fn enregistrer(db: &Pool, l: &NouvelleLigne<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO questionnaire (plie, participant_id, operation_id, moment, programme, version,
            reponses, recueilli_le, saisi_par, saisi_le)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (participant_id, operation_id, moment) DO UPDATE SET
           programme = excluded.programme, version = excluded.version,
           reponses = excluded.reponses, recueilli_le = excluded.recueilli_le,
           saisi_par = excluded.saisi_par, saisi_le = excluded.saisi_le",
    )
    .bind(l.plie)
    .bind(l.participant_id)
    .bind(l.operation_id)
    .bind(MomentStocke::from(l.moment).code())
    .bind(l.programme)
    .bind(l.version)
    .bind(l.reponses)
    .bind(super::jour(l.recueilli_le))
    .bind(l.saisi_par)
    .bind(super::instant(l.saisi_le))
    .execute(db)
    .await?;
    Ok(())
}

/// A participant of an opération as its export reads him: parcours, référent, and one
/// recorded moment's answers (none: a line without them).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LigneOperation {
    #[sqlx(rename = "ref")]
    pub reference: String,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_entree: Option<NaiveDate>,
    #[sqlx(try_from = "super::Lu<Option<NaiveDate>>")]
    pub date_sortie: Option<NaiveDate>,
    pub referent_nom: Option<String>,
    pub referent_prenom: Option<String>,
    /// JSON of the crate's `Reponses`.
    pub reponses: Option<String>,
}

/// The participants of an opération, each with every moment recorded (a line per moment),
/// in the order of their references.
pub async fn de_l_operation(
    db: &Pool,
    plie: &str,
    operation_id: i64,
) -> Result<Vec<LigneOperation>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.ref, p.date_entree, p.date_sortie, r.nom AS referent_nom,
                r.prenom AS referent_prenom, q.reponses
         FROM participant p
         LEFT JOIN personnel r ON r.id = p.referent_id
         LEFT JOIN questionnaire q ON q.plie = p.plie AND q.participant_id = p.id
              AND q.operation_id = p.operation_id
         WHERE p.plie = $1 AND p.operation_id = $2
         ORDER BY p.ref, q.moment",
    )
    .bind(plie)
    .bind(operation_id)
    .fetch_all(db)
    .await
}

/// A participant who left an FSE-co-funded opération, as the schedule reads him to tell his
/// référent what his questionnaire awaits: no answer, only whether each moment was collected.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Sortie {
    pub plie: String,
    #[sqlx(rename = "ref")]
    pub reference: String,
    pub prenom: String,
    #[sqlx(try_from = "super::Lu<NaiveDate>")]
    pub date_sortie: NaiveDate,
    pub programme: String,
    pub referent_email: String,
    #[sqlx(try_from = "super::Lu<bool>")]
    pub sortie_recueillie: bool,
    #[sqlx(try_from = "super::Lu<bool>")]
    pub six_mois_recueillie: bool,
}

/// Every PLIE's participants with a référent who left a co-funded opération between `depuis`
/// and `au`, with which moments of their questionnaire are recorded.
pub async fn sorties(
    db: &Pool,
    depuis: NaiveDate,
    au: NaiveDate,
) -> Result<Vec<Sortie>, sqlx::Error> {
    let recueillie = |moment: &str| {
        format!(
            "(SELECT count(*) FROM questionnaire q WHERE q.participant_id = p.id
              AND q.operation_id = p.operation_id AND q.moment = '{moment}')"
        )
    };
    sqlx::query_as(&format!(
        "SELECT p.plie, p.ref, p.prenom, p.date_sortie, o.programme, r.email AS referent_email,
                {} AS sortie_recueillie, {} AS six_mois_recueillie
         FROM participant p JOIN operation o ON o.id = p.operation_id
         JOIN personnel r ON r.id = p.referent_id
         WHERE p.date_sortie IS NOT NULL AND p.date_sortie >= $1 AND p.date_sortie <= $2
           AND o.programme <> 'aucun'",
        recueillie("sortie"),
        recueillie("six_mois")
    ))
    .bind(super::jour(depuis))
    .bind(super::jour(au))
    .fetch_all(db)
    .await
}
