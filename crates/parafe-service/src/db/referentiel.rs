//! The PLIE's frame: the PLIE itself, its FSE opérations, the Départements it sends bilans to.

use super::{jour, Lu, Pool};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The programme that co-funds an opération: it sets the FSE mention its documents carry and
/// how long its pieces are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Programme {
    /// PON « Emploi et Inclusion » 2014-2020.
    #[serde(rename = "pon-2014-2020")]
    Pon20142020,
    /// FSE+ 2021-2027.
    #[serde(rename = "fse-plus-2021-2027")]
    FsePlus20212027,
    /// No European co-funding: no FSE block on its documents.
    #[serde(rename = "aucun")]
    Aucun,
}

impl Programme {
    /// The programmes with European co-funding, each with its questionnaire.
    pub const COFINANCES: [Programme; 2] = [Programme::Pon20142020, Programme::FsePlus20212027];
    /// Every programme, as a form offers them.
    pub const TOUS: [Programme; 3] = [
        Programme::FsePlus20212027,
        Programme::Pon20142020,
        Programme::Aucun,
    ];

    pub fn parse(s: &str) -> Option<Programme> {
        match s {
            "pon-2014-2020" => Some(Self::Pon20142020),
            "fse-plus-2021-2027" => Some(Self::FsePlus20212027),
            "aucun" => Some(Self::Aucun),
            _ => None,
        }
    }

    /// In words, as the PLIE's staff name it.
    pub fn libelle(self) -> &'static str {
        match self {
            Self::Pon20142020 => "PON Emploi et Inclusion 2014-2020",
            Self::FsePlus20212027 => "FSE+ 2021-2027",
            Self::Aucun => "hors FSE",
        }
    }

    /// As stored, and as the templates choose their FSE block by.
    pub fn code(self) -> &'static str {
        match self {
            Self::Pon20142020 => "pon-2014-2020",
            Self::FsePlus20212027 => "fse-plus-2021-2027",
            Self::Aucun => "aucun",
        }
    }
}

/// A stored programme parafe does not know: a corrupted row, never read as another programme.
#[derive(Debug, thiserror::Error)]
#[error("programme d'opération inconnu « {0} » dans la base : ligne altérée ou écrite par une autre version de parafe")]
pub struct ProgrammeInconnu(pub String);

/// How a row's programme is read (`#[sqlx(try_from = "String")]`).
impl TryFrom<String> for Programme {
    type Error = ProgrammeInconnu;

    fn try_from(code: String) -> Result<Programme, ProgrammeInconnu> {
        Programme::parse(&code).ok_or(ProgrammeInconnu(code))
    }
}

/// An FSE opération as the PLIE records it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Operation {
    #[serde(skip)]
    pub id: i64,
    /// Its Ma Démarche FSE number.
    pub code: String,
    pub intitule: String,
    #[sqlx(try_from = "String")]
    pub programme: Programme,
    /// Its period of realisation.
    #[sqlx(try_from = "Lu<Option<NaiveDate>>")]
    pub debut: Option<NaiveDate>,
    #[sqlx(try_from = "Lu<Option<NaiveDate>>")]
    pub fin: Option<NaiveDate>,
    /// Who co-funds it besides the EU (Département, État…), as the agreement names them.
    pub cofinanceurs: String,
    /// The last payment to the opération, once made: the FSE+ retention counts from it.
    #[sqlx(try_from = "Lu<Option<NaiveDate>>")]
    pub dernier_paiement: Option<NaiveDate>,
    /// False while only an import has named it: no document printing it is sent before a
    /// coordinateur gives its title and programme.
    #[sqlx(try_from = "Lu<bool>")]
    pub decrite: bool,
}

/// The columns of [`Operation`], in its order.
const COLONNES_OPERATION: &str =
    "id, code, intitule, programme, debut, fin, cofinanceurs, dernier_paiement, decrite";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Departement {
    pub code: String,
    pub nom: String,
    pub email_referent_unique: String,
    pub email_sdi: String,
    /// JSON list of months when the Département sets its own (else the workflow's).
    pub bilans_mois: Option<String>,
}

pub async fn creer_plie<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: &str,
    nom: &str,
    le: &str,
) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query(
        "INSERT INTO plie (id, nom, cree_le) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(nom)
    .bind(le)
    .execute(db)
    .await?;
    Ok(fait.rows_affected() == 1)
}

pub async fn nom_plie<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    plie: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT nom FROM plie WHERE id = $1")
        .bind(plie)
        .fetch_optional(db)
        .await
}

/// Creates or updates an opération by its code (`operation.id` is not read); returns its id.
pub async fn enregistrer_operation(
    db: &Pool,
    plie: &str,
    operation: &Operation,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO operation (plie, code, intitule, programme, debut, fin, cofinanceurs, dernier_paiement, decrite)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)
         ON CONFLICT (plie, code) DO UPDATE SET intitule = excluded.intitule,
           programme = excluded.programme, debut = excluded.debut, fin = excluded.fin,
           cofinanceurs = excluded.cofinanceurs, dernier_paiement = excluded.dernier_paiement,
           decrite = 1
         RETURNING id",
    )
    .bind(plie)
    .bind(&operation.code)
    .bind(&operation.intitule)
    .bind(operation.programme.code())
    .bind(operation.debut.map(jour))
    .bind(operation.fin.map(jour))
    .bind(&operation.cofinanceurs)
    .bind(operation.dernier_paiement.map(jour))
    // To its end, not `fetch_one`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)
}

pub async fn operation(db: &Pool, plie: &str, id: i64) -> Result<Option<Operation>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES_OPERATION} FROM operation WHERE plie = $1 AND id = $2"
    ))
    .bind(plie)
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn operation_par_code(
    db: &Pool,
    plie: &str,
    code: &str,
) -> Result<Option<Operation>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES_OPERATION} FROM operation WHERE plie = $1 AND code = $2"
    ))
    .bind(plie)
    .bind(code)
    .fetch_optional(db)
    .await
}

pub async fn enregistrer_departement(
    db: &Pool,
    plie: &str,
    d: &Departement,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO departement (plie, code, nom, email_referent_unique, email_sdi, bilans_mois)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (plie, code) DO UPDATE SET nom = excluded.nom,
           email_referent_unique = excluded.email_referent_unique, email_sdi = excluded.email_sdi,
           bilans_mois = excluded.bilans_mois",
    )
    .bind(plie)
    .bind(&d.code)
    .bind(&d.nom)
    .bind(&d.email_referent_unique)
    .bind(&d.email_sdi)
    .bind(&d.bilans_mois)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn departement(
    db: &Pool,
    plie: &str,
    code: &str,
) -> Result<Option<Departement>, sqlx::Error> {
    sqlx::query_as(
        "SELECT code, nom, email_referent_unique, email_sdi, bilans_mois FROM departement
         WHERE plie = $1 AND code = $2",
    )
    .bind(plie)
    .bind(code)
    .fetch_optional(db)
    .await
}

/// Removes a Département no participant of the PLIE belongs to (their bilans went, or will go,
/// to its addresses): false when it is absent or still has participants.
pub async fn retirer_departement(db: &Pool, plie: &str, code: &str) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query(
        "DELETE FROM departement WHERE plie = $1 AND code = $2
           AND NOT EXISTS (SELECT 1 FROM participant p WHERE p.plie = $1 AND p.departement = $2)",
    )
    .bind(plie)
    .bind(code)
    .execute(db)
    .await?;
    Ok(fait.rows_affected() == 1)
}

/// How many participants of the PLIE belong to the Département `code`.
pub async fn participants_du_departement(
    db: &Pool,
    plie: &str,
    code: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM participant WHERE plie = $1 AND departement = $2")
        .bind(plie)
        .bind(code)
        .fetch_one(db)
        .await
}

/// The PLIE's Départements, by code.
pub async fn departements(db: &Pool, plie: &str) -> Result<Vec<Departement>, sqlx::Error> {
    sqlx::query_as(
        "SELECT code, nom, email_referent_unique, email_sdi, bilans_mois FROM departement
         WHERE plie = $1 ORDER BY code",
    )
    .bind(plie)
    .fetch_all(db)
    .await
}

/// The PLIE's card (JSON: name, address, logo… as documents show them), if it has one.
pub async fn fiche_plie(db: &Pool, plie: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT fiche FROM plie WHERE id = $1")
        .bind(plie)
        .fetch_optional(db)
        .await
}

/// Keeps a logo of the PLIE under its name (`<sha256>.png`: the same image twice is one row).
pub async fn enregistrer_logo(
    db: &Pool,
    plie: &str,
    nom: &str,
    octets: &[u8],
    le: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO logo (plie, nom, octets, cree_le) VALUES ($1, $2, $3, $4)
         ON CONFLICT (plie, nom) DO NOTHING",
    )
    .bind(plie)
    .bind(nom)
    .bind(octets)
    .bind(le)
    .execute(db)
    .await?;
    Ok(())
}

/// The image of one of the PLIE's logos, by name.
pub async fn logo(db: &Pool, plie: &str, nom: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT octets FROM logo WHERE plie = $1 AND nom = $2")
        .bind(plie)
        .bind(nom)
        .fetch_optional(db)
        .await
}

/// The opération of this code, created under a provisional title, « à décrire », if the PLIE has
/// none yet (an import names opérations by code only); returns its id.
pub async fn operation_par_code_ou_creee<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    plie: &str,
    code: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO operation (plie, code, intitule, decrite) VALUES ($1, $2, $3, 0)
         ON CONFLICT (plie, code) DO UPDATE SET code = excluded.code RETURNING id",
    )
    .bind(plie)
    .bind(code)
    .bind(format!("Opération {code}"))
    // To its end, not `fetch_one`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)
}

/// The PLIE's fiche (JSON, as the templates' « plie » field); its name follows the fiche's.
pub async fn changer_fiche(
    db: &Pool,
    plie: &str,
    fiche: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    let fiche = fiche.to_string();
    sqlx::query(
        "UPDATE plie SET fiche = $1, nom = coalesce(json_extract($2, '$.nom'), nom) WHERE id = $3",
    )
    .bind(&fiche)
    .bind(&fiche)
    .bind(plie)
    .execute(db)
    .await?;
    Ok(())
}

super::etat_stocke! {
    /// What tells two homonyms apart where the PLIE shows names together, as it prefers
    /// (`service::participants::reperes` falls back to the next ones when it does not).
    Homonymes, "de repère des homonymes", {
        AnneeNaissance = "annee_naissance",
        Commune = "commune",
        Identifiant = "identifiant",
    }
}

/// What the PLIE prefers to tell homonyms apart by (its own setting; the year of birth when it
/// set none).
pub async fn homonymes(db: &Pool, plie: &str) -> Result<Homonymes, sqlx::Error> {
    let choisi: Option<Homonymes> = sqlx::query_scalar("SELECT homonymes FROM plie WHERE id = $1")
        .bind(plie)
        .fetch_optional(db)
        .await?;
    Ok(choisi.unwrap_or(Homonymes::AnneeNaissance))
}

pub async fn changer_homonymes(db: &Pool, plie: &str, choix: Homonymes) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE plie SET homonymes = $1 WHERE id = $2")
        .bind(choix.code())
        .bind(plie)
        .execute(db)
        .await?;
    Ok(())
}

/// Every PLIE of the database, by identifier.
/// A PLIE of the deployment, as its administrator lists them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Plie {
    pub id: String,
    pub nom: String,
    #[sqlx(try_from = "Lu<DateTime<Utc>>")]
    pub cree_le: DateTime<Utc>,
    /// Its staff accounts, and how many of them have chosen a password.
    pub comptes: i64,
    pub actives: i64,
}

/// Every PLIE of the deployment, by identifier.
pub async fn plies_du_deploiement(db: &Pool) -> Result<Vec<Plie>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, p.nom, p.cree_le,
                (SELECT count(*) FROM personnel c WHERE c.plie = p.id) AS comptes,
                (SELECT count(*) FROM personnel c WHERE c.plie = p.id AND c.mot_de_passe IS NOT NULL) AS actives
         FROM plie p ORDER BY p.id",
    )
    .fetch_all(db)
    .await
}

pub async fn plies(db: &Pool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM plie ORDER BY id")
        .fetch_all(db)
        .await
}

/// The PLIE's opérations, by code.
pub async fn operations(db: &Pool, plie: &str) -> Result<Vec<Operation>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES_OPERATION} FROM operation WHERE plie = $1 ORDER BY code"
    ))
    .bind(plie)
    .fetch_all(db)
    .await
}
