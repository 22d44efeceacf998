//! Persistence of the service (sqlx): PLIE, opérations, staff, participants, documents with
//! their versions and signers, the outbox. SQLite in the data directory by default, PostgreSQL
//! when `[base] url` names one (several instances share it). One text per query serves both,
//! through sqlx's `Any` driver: parameters are `$1`, `$2`…, times and days are ISO 8601 text,
//! booleans 0 or 1 (see [`Lu`]). The schemas are in `storage/migrations/{sqlite,postgres}/`, kept
//! in step, applied at start. Every query takes the caller's PLIE: rows of another PLIE are
//! invisible, not forbidden.
//!
//! A statement that writes and gives rows back (`… RETURNING`) is read to its end (`fetch_all`),
//! not with `fetch_one` or `fetch_optional`: outside a transaction SQLite commits it when it
//! finishes, those two stop at the first row, and sqlx then resets the statement ignoring its
//! error. A commit refused for lack of space would be acknowledged and its row gone.

pub mod apercus;
pub mod banc;
pub mod bilans;
pub mod chiffres;
pub mod copie;
pub mod documents;
pub mod exports;
pub mod grappe;
pub mod jetons_api;
pub mod journal;
pub mod justificatifs;
pub mod kiosque;
pub mod liens_compte;
pub mod outbox;
pub mod participants;
pub mod personnel;
pub mod questionnaires;
pub mod referentiel;
pub mod remises;
pub mod secrets;
pub mod sessions;
pub mod signataires;
pub mod suivi;
pub mod telephone;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use parafe_core::panne::Panne;
use serde::Deserialize;
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyTypeInfo, AnyTypeInfoKind, AnyValueRef};
use sqlx::pool::PoolConnectionMetadata;
use sqlx::{AnyConnection, Connection, Executor};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

pub type Pool = sqlx::AnyPool;

/// `[base]` in parafe.toml: where the service's rows live.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaseConfig {
    /// `postgres://utilisateur@hote:5432/base` (also `PARAFE_BASE_URL`, the only place a password
    /// may be written; else PGPASSWORD or ~/.pgpass); absent, the SQLite file `<data-dir>/parafe.db`.
    pub url: Option<String>,
    /// Connections the instance keeps open to PostgreSQL.
    pub connexions: Option<u32>,
}

/// Parameters bound in one statement at most: rows that come in numbers (an import, a PLIE's
/// bilans, the outbox's completions) go by multi-row statements of up to this many values, one
/// round trip to the database per few thousand rows rather than per row. Below SQLite's limit
/// (32,766) and PostgreSQL's (65,535).
pub const PARAMETRES_PAR_REQUETE: usize = 30_000;

/// Which database a connection or a pool talks to, for the few texts that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialecte {
    Sqlite,
    Postgres,
}

impl Dialecte {
    pub fn de(conn: &AnyConnection) -> Dialecte {
        if conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME {
            Dialecte::Postgres
        } else {
            Dialecte::Sqlite
        }
    }

    pub fn du_pool(pool: &Pool) -> Dialecte {
        match pool.connect_options().database_url.scheme() {
            "sqlite" => Dialecte::Sqlite,
            _ => Dialecte::Postgres,
        }
    }
}

/// A statement built piece by piece (sqlx's `QueryBuilder` has the same methods), its
/// parameters written as each database reads them fastest: `$1`, `$2`… for PostgreSQL (sqlx's
/// own builder writes `?` for the `Any` driver), bare `?` for SQLite, which numbers them as it
/// reads them (it looks every `$n` up among the names seen before: a statement of 30,000
/// parameters then takes seconds to prepare).
pub struct Requete<'q> {
    sql: String,
    arguments: AnyArguments<'q>,
    dialecte: Dialecte,
}

impl<'q> Requete<'q> {
    pub fn new(dialecte: Dialecte, debut: &str) -> Self {
        Requete {
            sql: debut.to_owned(),
            arguments: AnyArguments::default(),
            dialecte,
        }
    }

    pub fn push(&mut self, texte: &str) -> &mut Self {
        self.sql.push_str(texte);
        self
    }

    pub fn push_bind<T>(&mut self, valeur: T) -> &mut Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        use sqlx::Arguments;
        // A value that does not encode fails the statement when it runs, as with sqlx's builder.
        let _ = self.arguments.add(valeur);
        match self.dialecte {
            Dialecte::Sqlite => self.sql.push('?'),
            Dialecte::Postgres => {
                self.sql.push('$');
                self.sql.push_str(&self.arguments.len().to_string());
            }
        }
        self
    }

    /// `VALUES (…), (…)`, a row per item, its values bound by `ligne`.
    pub fn push_values<T>(
        &mut self,
        lignes: impl IntoIterator<Item = T>,
        mut ligne: impl FnMut(Liste<'_, 'q>, T),
    ) -> &mut Self {
        self.sql.push_str("VALUES ");
        for (i, item) in lignes.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push('(');
            ligne(self.separated(", "), item);
            self.sql.push(')');
        }
        self
    }

    /// Values bound one after the other, `separateur` between them.
    pub fn separated(&mut self, separateur: &'static str) -> Liste<'_, 'q> {
        Liste {
            requete: self,
            separateur,
            premiere: true,
        }
    }

    pub fn build(&mut self) -> sqlx::query::Query<'_, sqlx::Any, AnyArguments<'_>> {
        sqlx::query_with(&self.sql, std::mem::take(&mut self.arguments))
    }

    pub fn build_query_as<O>(&mut self) -> sqlx::query::QueryAs<'_, sqlx::Any, O, AnyArguments<'_>>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_as_with(&self.sql, std::mem::take(&mut self.arguments))
    }

    pub fn build_query_scalar<O>(
        &mut self,
    ) -> sqlx::query::QueryScalar<'_, sqlx::Any, O, AnyArguments<'_>>
    where
        (O,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_scalar_with(&self.sql, std::mem::take(&mut self.arguments))
    }
}

/// Values of a [`Requete`] separated by commas (a row of `VALUES`, an `IN` list).
pub struct Liste<'r, 'q> {
    requete: &'r mut Requete<'q>,
    separateur: &'static str,
    premiere: bool,
}

impl<'q> Liste<'_, 'q> {
    pub fn push_bind<T>(&mut self, valeur: T) -> &mut Self
    where
        T: 'q + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        if !self.premiere {
            self.requete.sql.push_str(self.separateur);
        }
        self.premiere = false;
        self.requete.push_bind(valeur);
        self
    }
}

/// Runs statements in turn, binding each while the database runs the one before (on its own
/// thread).
pub(crate) async fn executer_en_serie<'q>(
    tx: &mut AnyConnection,
    mut requetes: impl Iterator<Item = Requete<'q>> + Send,
) -> Result<(), sqlx::Error> {
    let mut courante = requetes.next();
    while let Some(mut requete) = courante {
        // Polled first, the statement is on its way to the database before the next is bound.
        let (fait, suivante) = tokio::join!(
            biased;
            requete.build().execute(&mut *tx),
            async { requetes.next() }
        );
        fait?;
        courante = suivante;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("base de données {path} inaccessible : {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("mise à jour du schéma de la base impossible : {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("erreur de la base de données : {0}")]
    Sql(#[from] sqlx::Error),
}

/// SQLite's settings, on every connection. WAL and `synchronous = FULL`: a committed transaction
/// survives a crash of the process or of the machine, which the outbox's "never lost" relies
/// on. `secure_delete`: what a row loses (a scrubbed e-mail text) is overwritten, not left in
/// free pages. A transaction that writes many rows (an import, a PLIE's schedule) keeps its
/// pages in memory (`cache_size`, 64 MB): with SQLite's 2 MB default they spill to the WAL and
/// are read back; statement journals (multi-row statements inside a transaction) stay in memory
/// too (`temp_store`).
const REGLAGES_SQLITE: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
    PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA cache_size = -65536;
    PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 30000;";

/// Opens the database of `base` (by default `<data_dir>/parafe.db`, created if needed),
/// applies the migrations and fills what SQL could not (the participants' search text). On
/// SQLite, after them the WAL is checkpointed and truncated so that no earlier page image stays
/// in it.
///
/// On SQLite, one connection outside the pool stays open as long as the pool: SQLite deletes the
/// WAL and its index (`-shm`) when the last connection to the database closes, and a new
/// connection must then write the index again. After a storage fault every pooled connection is
/// closed: without this one, the next could not even read on a full disk.
pub async fn open(base: &BaseConfig, data_dir: &Path) -> Result<Pool, DbError> {
    sqlx::any::install_default_drivers();
    let (url, nom) = match &base.url {
        Some(url) => (url.clone(), sans_mot_de_passe(url)),
        None => {
            let path = data_dir.join("parafe.db");
            (
                format!("sqlite://{}?mode=rwc", url_de_chemin(&path)),
                path.display().to_string(),
            )
        }
    };
    let echec = |source| DbError::Open {
        path: nom.clone(),
        source,
    };
    let sqlite = base.url.is_none();
    let pool = AnyPoolOptions::new()
        .max_connections(if sqlite {
            8
        } else {
            base.connexions.unwrap_or(16)
        })
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if sqlite {
                    conn.execute(REGLAGES_SQLITE).await?;
                }
                Ok(())
            })
        })
        .before_acquire(|_, meta| Box::pin(async move { Ok(apres_la_derniere_panne(&meta)) }))
        .after_release(|conn, meta| Box::pin(rendue_saine(conn, meta)))
        .connect(&url)
        .await
        .map_err(echec)?;
    if !sqlite {
        verifier_la_collation(&pool).await.map_err(echec)?;
        sqlx::migrate!("../../storage/migrations/postgres")
            .run(&pool)
            .await?;
        participants::remplir_la_recherche(&pool).await?;
        return Ok(pool);
    }
    sqlx::migrate!("../../storage/migrations/sqlite")
        .run(&pool)
        .await?;
    participants::remplir_la_recherche(&pool).await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await?;
    let mut index = AnyConnection::connect(&url).await.map_err(echec)?;
    // A read opens the WAL and maps its index, kept until the connection closes.
    sqlx::query("SELECT count(*) FROM sqlite_schema")
        .execute(&mut index)
        .await?;
    let fermeture = pool.close_event();
    tokio::spawn(async move {
        fermeture.await;
        index.close().await.ok();
    });
    Ok(pool)
}

/// A transaction that reads then writes. On SQLite it takes the write lock at its start
/// (`BEGIN IMMEDIATE`): begun deferred, its first write fails at once (SQLITE_BUSY_SNAPSHOT, which
/// no busy timeout waits out) when another connection or process wrote after its first read —
/// an import while `parafe comptes ajouter` records an account, or while the outbox works.
pub async fn ecriture(pool: &Pool) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    match Dialecte::du_pool(pool) {
        Dialecte::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Dialecte::Postgres => pool.begin().await,
    }
}

/// Serializes the transactions about one thing (a link's codes, an address's) until each ends:
/// PostgreSQL lets two transactions read the same rows then both write on what they read;
/// SQLite's single writer takes them one after the other (see [`ecriture`]).
pub async fn verrouiller(tx: &mut AnyConnection, objet: &str) -> Result<(), sqlx::Error> {
    if Dialecte::de(tx) == Dialecte::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(objet)
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Text compares byte by byte, as in SQLite: sorted lists, key ranges and the order of ISO 8601
/// instants are the same on both databases (a locale's collation orders them otherwise).
async fn verifier_la_collation(pool: &Pool) -> Result<(), sqlx::Error> {
    let (collation, ctype): (String, String) = sqlx::query_as(
        "SELECT datcollate, datctype FROM pg_database WHERE datname = current_database()",
    )
    .fetch_one(pool)
    .await?;
    let octets = |c: &str| matches!(c, "C" | "POSIX" | "C.UTF-8" | "C.utf8");
    if octets(&collation) && octets(&ctype) {
        return Ok(());
    }
    Err(sqlx::Error::Configuration(
        format!(
            "la base PostgreSQL compare le texte selon « {collation} » / « {ctype} » : parafe \
             demande l'ordre des octets ; créez-la par CREATE DATABASE … TEMPLATE template0 \
             ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        )
        .into(),
    ))
}

/// A path in a `sqlite://` URL: characters of its own (`%`, `?`, `#`, spaces) escaped.
fn url_de_chemin(path: &Path) -> String {
    let mut url = String::new();
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(b as char)
            }
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    url
}

/// A database URL fit for a message or a log: its password replaced.
pub fn sans_mot_de_passe(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(debut), Some(arobase)) if url[debut + 3..arobase].contains(':') => {
            let compte = &url[debut + 3..arobase];
            let utilisateur = compte.split(':').next().unwrap_or_default();
            format!("{}{utilisateur}:***{}", &url[..debut + 3], &url[arobase..])
        }
        _ => url.to_owned(),
    }
}

/// When a storage fault was last seen, by any connection of this process.
static DERNIERE_PANNE: Mutex<Option<Instant>> = Mutex::new(None);

/// The storage fault behind a database error, if it is one. Seeing one marks every connection
/// open at this instant for closing: the one that met it may be left inside a transaction
/// SQLite already rolled back (sqlx then takes the next `begin` for a savepoint and its
/// `commit` for a release that commits nothing), and no connection is trusted to be sound.
pub fn panne(e: &sqlx::Error) -> Option<Panne> {
    let panne = match e {
        sqlx::Error::Database(d) => {
            if let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                match pg.code() {
                    "53100" => Panne::Plein, // disk_full
                    // insufficient resources, connection lost, server shutting down, read-only
                    // replica after a failover, I/O error
                    c if c.starts_with("53") || c.starts_with("08") || c.starts_with("57P") => {
                        Panne::Indisponible
                    }
                    "25006" | "58030" => Panne::Indisponible,
                    _ => return None,
                }
            } else {
                // SQLite's extended code; its low byte is the primary code.
                let code = d.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0) & 0xff;
                match code {
                    13 => Panne::Plein, // SQLITE_FULL
                    // IOERR, CANTOPEN, BUSY, LOCKED, READONLY, CORRUPT, NOTADB, PROTOCOL, NOMEM
                    10 | 14 | 5 | 6 | 8 | 11 | 26 | 15 | 7 => Panne::Indisponible,
                    _ => return None,
                }
            }
        }
        sqlx::Error::Io(io) => Panne::de_io(io),
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            Panne::Indisponible
        }
        _ => return None,
    };
    *DERNIERE_PANNE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    Some(panne)
}

/// Whether a connection was opened after the last storage fault (else it is closed).
fn apres_la_derniere_panne(meta: &PoolConnectionMetadata) -> bool {
    let panne = *DERNIERE_PANNE.lock().unwrap_or_else(|p| p.into_inner());
    match (panne, Instant::now().checked_sub(meta.age)) {
        (None, _) => true,
        (Some(panne), Some(ouverte)) => ouverte > panne,
        (Some(_), None) => false,
    }
}

/// Whether a connection given back may serve again: out of any transaction, and opened after
/// the last storage fault.
async fn rendue_saine(
    conn: &mut AnyConnection,
    meta: PoolConnectionMetadata,
) -> Result<bool, sqlx::Error> {
    // Runs after the commands queued on the connection, the rollback of a dropped transaction
    // included: the depth read next is then final.
    conn.ping().await?;
    Ok(!conn.is_in_transaction() && apres_la_derniere_panne(&meta))
}

/// An instant as stored: UTC, ISO 8601 with milliseconds, so that text order is time order.
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads back an instant written by [`instant`].
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// An instant in JSON as [`instant`] writes it, milliseconds always shown (chrono's own
/// serialization drops them when they are zero). `#[serde(serialize_with = "db::en_instant")]`.
pub fn en_instant<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&instant(*t))
}

/// [`en_instant`] for an instant that may be absent (`null`).
pub fn en_instant_option<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => en_instant(t, s),
        None => s.serialize_none(),
    }
}

/// A column read as a type neither database driver decodes through `Any`: an instant or a day
/// (stored as ISO 8601 text), a boolean (0 or 1). On a row:
/// `#[sqlx(try_from = "db::Lu<DateTime<Utc>>")] pub cree_le: DateTime<Utc>`.
pub struct Lu<T>(pub T);

/// A column's value as text, for [`Lu`].
fn texte<'r>(valeur: AnyValueRef<'r>) -> Result<String, sqlx::error::BoxDynError> {
    <String as sqlx::Decode<'r, sqlx::Any>>::decode(valeur)
}

macro_rules! lu {
    ($t:ty, $accepte:expr, |$v:ident| $lire:expr) => {
        impl sqlx::Type<sqlx::Any> for Lu<$t> {
            fn type_info() -> AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &AnyTypeInfo) -> bool {
                $accepte(ty.kind())
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for Lu<$t> {
            fn decode($v: AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(Lu($lire))
            }
        }

        impl sqlx::Type<sqlx::Any> for Lu<Option<$t>> {
            fn type_info() -> AnyTypeInfo {
                <Lu<$t> as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &AnyTypeInfo) -> bool {
                <Lu<$t> as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for Lu<Option<$t>> {
            fn decode(v: AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                if sqlx::ValueRef::is_null(&v) {
                    return Ok(Lu(None));
                }
                Ok(Lu(Some(
                    <Lu<$t> as sqlx::Decode<'r, sqlx::Any>>::decode(v)?.0,
                )))
            }
        }

        impl From<Lu<$t>> for $t {
            fn from(lu: Lu<$t>) -> $t {
                lu.0
            }
        }

        impl From<Lu<Option<$t>>> for Option<$t> {
            fn from(lu: Lu<Option<$t>>) -> Option<$t> {
                lu.0
            }
        }
    };
}

fn est_texte(k: AnyTypeInfoKind) -> bool {
    matches!(k, AnyTypeInfoKind::Text | AnyTypeInfoKind::Null)
}

lu!(DateTime<Utc>, est_texte, |v| {
    let t = texte(v)?;
    parse_instant(&t).ok_or_else(|| format!("instant illisible dans la base : « {t} »"))?
});
lu!(NaiveDate, est_texte, |v| {
    let t = texte(v)?;
    parse_jour(&t).ok_or_else(|| format!("date illisible dans la base : « {t} »"))?
});
lu!(
    bool,
    |k: AnyTypeInfoKind| k.is_integer()
        || matches!(k, AnyTypeInfoKind::Bool | AnyTypeInfoKind::Null),
    |v| if sqlx::ValueRef::type_info(&v).kind() == AnyTypeInfoKind::Bool {
        <bool as sqlx::Decode<'r, sqlx::Any>>::decode(v)?
    } else {
        <i64 as sqlx::Decode<'r, sqlx::Any>>::decode(v)? != 0
    }
);

/// A write refused by a unique index: two requests creating the same thing at once.
pub fn est_doublon(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// A day as stored: `AAAA-MM-JJ`.
pub fn jour(d: NaiveDate) -> String {
    // Display is `%Y-%m-%d`, written without parsing a format string.
    d.to_string()
}

pub fn parse_jour(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A random public identifier (`prefix-` + 128 bits in lowercase base32): unguessable, so
/// knowing one document's reference says nothing about another's.
pub fn nouvelle_ref(prefix: &str) -> String {
    use rand::RngCore;
    // The thread's ChaCha generator, seeded from the OS: as unpredictable, without a system
    // call per reference (a PLIE's schedule creates hundreds of thousands at once).
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}-{}", base32(&bytes))
}

/// A public reference for a row that is kept (participant, document, sheet): 48 bits of the
/// creation time in milliseconds then 80 random bits, as a UUIDv7 (RFC 9562). Still unguessable
/// for a link, but the references made together sort together: an import or a schedule writes
/// them at one end of the unique index instead of on a random page of it.
pub fn reference_triee(prefix: &str) -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    let ms = Utc::now().timestamp_millis().max(0) as u64;
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    rand::thread_rng().fill_bytes(&mut bytes[6..]);
    format!("{prefix}-{}", base32(&bytes))
}

/// RFC 4648 base32, lowercase, without padding (for identifiers and tokens in URLs).
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A stored state its enum does not know: a corrupted row, never read as another state.
#[derive(Debug, thiserror::Error)]
#[error("état {quoi} inconnu « {valeur} » dans la base : ligne altérée ou écrite par une autre version de parafe")]
pub struct EtatInconnu {
    pub quoi: &'static str,
    pub valeur: String,
}

/// A state stored as text: its codes, bound with `code()`, serialized as its code, decoded
/// from a column (an unknown value is an [`EtatInconnu`], whose message the decoding error
/// keeps: `#[sqlx(try_from = "String")]` would lose it).
macro_rules! etat_stocke {
    ($(#[$doc:meta])* $nom:ident, $quoi:literal, { $($variante:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $nom {
            $($variante),+
        }

        impl $nom {
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$variante => $code),+
                }
            }
        }

        impl TryFrom<String> for $nom {
            type Error = $crate::db::EtatInconnu;

            fn try_from(valeur: String) -> Result<Self, Self::Error> {
                match valeur.as_str() {
                    $($code => Ok(Self::$variante),)+
                    _ => Err($crate::db::EtatInconnu { quoi: $quoi, valeur }),
                }
            }
        }

        impl sqlx::Type<sqlx::Any> for $nom {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $nom {
            fn decode(
                valeur: sqlx::any::AnyValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let code = <String as sqlx::Decode<'r, sqlx::Any>>::decode(valeur)?;
                Ok(Self::try_from(code)?)
            }
        }

        impl serde::Serialize for $nom {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }
    };
}
pub(crate) use etat_stocke;
