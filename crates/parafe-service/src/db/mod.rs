//! Persistence of the service (sqlx, SQLite by default): PLIE, opérations, staff, participants,
//! documents with their versions and signers, the outbox. The schema is in
//! `storage/migrations/`, applied at start. Every query takes the caller's PLIE: rows of another
//! PLIE are invisible, not forbidden.
//!
//! A statement that writes and gives rows back (`… RETURNING`) is read to its end (`fetch_all`),
//! not with `fetch_one` or `fetch_optional`: outside a transaction SQLite commits it when it
//! finishes, those two stop at the first row, and sqlx then resets the statement ignoring its
//! error. A commit refused for lack of space would be acknowledged and its row gone.

pub mod banc;
pub mod bilans;
pub mod documents;
pub mod exports;
pub mod jetons_api;
pub mod justificatifs;
pub mod kiosque;
pub mod liens_compte;
pub mod outbox;
pub mod participants;
pub mod personnel;
pub mod referentiel;
pub mod secrets;
pub mod sessions;
pub mod signataires;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use parafe_core::panne::Panne;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub type Pool = sqlx::SqlitePool;

/// Parameters bound in one statement at most: rows that come in numbers (an import, a PLIE's
/// bilans, the outbox's completions) go by multi-row statements of up to this many values, one
/// round trip to the database per few thousand rows rather than per row. Below SQLite's limit
/// (32,766) and PostgreSQL's (65,535).
pub const PARAMETRES_PAR_REQUETE: usize = 30_000;

/// Runs statements in turn, binding each while the database runs the one before (on its own
/// thread).
pub(crate) async fn executer_en_serie<'q>(
    tx: &mut SqliteConnection,
    mut requetes: impl Iterator<Item = sqlx::QueryBuilder<'q, sqlx::Sqlite>> + Send,
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

/// Rows of a statement's answer its worker queues before waiting for the reader.
const ROWS_PAR_REVEIL: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("base de données {path} inaccessible : {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("mise à jour du schéma de la base impossible : {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("erreur de la base de données : {0}")]
    Sql(#[from] sqlx::Error),
}

/// Opens (creating it if needed) `<data_dir>/parafe.db` and applies the migrations.
/// WAL and `synchronous = FULL`: a committed transaction survives a crash of the process or of
/// the machine, which the outbox's "never lost" relies on. `secure_delete`: what a row loses
/// (a scrubbed e-mail text) is overwritten, not left in free pages; after the migrations, the
/// WAL is checkpointed and truncated so that no earlier page image stays in it.
///
/// One connection outside the pool stays open as long as the pool: SQLite deletes the WAL and
/// its index (`-shm`) when the last connection to the database closes, and a new connection
/// must then write the index again. After a storage fault every pooled connection is closed:
/// without this one, the next could not even read on a full disk.
pub async fn open(data_dir: &Path) -> Result<Pool, DbError> {
    let path = data_dir.join("parafe.db");
    let options = SqliteConnectOptions::from_str("sqlite:")
        .map_err(|source| DbError::Open {
            path: path.display().to_string(),
            source,
        })?
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .pragma("secure_delete", "on")
        // A transaction that writes many rows (an import, a PLIE's schedule) keeps its pages in
        // memory: with SQLite's 2 MB default they spill to the WAL and are read back.
        .pragma("cache_size", "-65536")
        // Statement journals (multi-row statements inside a transaction) in memory, not in
        // temporary files.
        .pragma("temp_store", "memory")
        // Rows a statement gives back wait in a queue large enough that its worker thread
        // runs through them without waking the reader (and being woken) every 50 rows.
        .row_buffer_size(ROWS_PAR_REVEIL)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .before_acquire(|_, meta| Box::pin(async move { Ok(apres_la_derniere_panne(&meta)) }))
        .after_release(|conn, meta| Box::pin(rendue_saine(conn, meta)))
        .connect_with(options.clone())
        .await
        .map_err(|source| DbError::Open {
            path: path.display().to_string(),
            source,
        })?;
    sqlx::migrate!("../../storage/migrations/sqlite")
        .run(&pool)
        .await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await?;
    let mut index = SqliteConnection::connect_with(&options).await?;
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

/// When a storage fault was last seen, by any connection of this process.
static DERNIERE_PANNE: Mutex<Option<Instant>> = Mutex::new(None);

/// The storage fault behind a database error, if it is one. Seeing one marks every connection
/// open at this instant for closing: the one that met it may be left inside a transaction
/// SQLite already rolled back (sqlx then takes the next `begin` for a savepoint and its
/// `commit` for a release that commits nothing), and no connection is trusted to be sound.
pub fn panne(e: &sqlx::Error) -> Option<Panne> {
    let panne = match e {
        sqlx::Error::Database(d) => {
            // SQLite's extended code; its low byte is the primary code.
            let code = d.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0) & 0xff;
            match code {
                13 => Panne::Plein, // SQLITE_FULL
                // IOERR, CANTOPEN, BUSY, LOCKED, READONLY, CORRUPT, NOTADB, PROTOCOL, NOMEM
                10 | 14 | 5 | 6 | 8 | 11 | 26 | 15 | 7 => Panne::Indisponible,
                _ => return None,
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
    conn: &mut SqliteConnection,
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

        impl sqlx::Type<sqlx::Sqlite> for $nom {
            fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
                <String as sqlx::Type<sqlx::Sqlite>>::type_info()
            }

            fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Sqlite>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Sqlite> for $nom {
            fn decode(
                valeur: sqlx::sqlite::SqliteValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let code = <String as sqlx::Decode<'r, sqlx::Sqlite>>::decode(valeur)?;
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
