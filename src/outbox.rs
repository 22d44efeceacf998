//! The durable outbox: sealing (with its timestamp request), filing in the evidence store and
//! e-mails are tasks written in the database in the same transaction as the state change that
//! calls for them. A worker runs the due ones; a failure (TSA, store or SMTP server down) sets
//! the next attempt further away; a crash leaves them in the table, to run after restart.
//!
//! Each task has a unique key (`sceller:<document>`, `remise:<document>:<destinataire>`): it
//! is queued once, and it is marked done in the same transaction as its effect, so that a task
//! is never done twice. One window cannot be closed, for any SMTP client: a crash after the
//! server accepted a message but before its answer was recorded. Such a message is known (its
//! sending was marked started) and goes again after restart with the same `Message-ID` and an
//! `X-Parafe-Renvoi` header, so that receivers recognise it; the evidence says so.

use crate::db::{self, Pool};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Genre {
    /// Render the final version with its certificat de preuve, seal it (RFC 3161 timestamp).
    Sceller,
    /// File the sealed document in the evidence store.
    Deposer,
    /// Send one e-mail (signing link, reminder, sealed document).
    Courriel,
    /// Record a transition in the evidence journal.
    Journal,
}

impl Genre {
    fn code(self) -> &'static str {
        match self {
            Genre::Sceller => "sceller",
            Genre::Deposer => "deposer",
            Genre::Courriel => "courriel",
            Genre::Journal => "journal",
        }
    }
    fn parse(s: &str) -> Option<Genre> {
        match s {
            "sceller" => Some(Genre::Sceller),
            "deposer" => Some(Genre::Deposer),
            "courriel" => Some(Genre::Courriel),
            "journal" => Some(Genre::Journal),
            _ => None,
        }
    }
}

/// A task taken from the outbox.
#[derive(Debug, Clone)]
pub struct Tache {
    pub id: i64,
    pub cle: String,
    pub genre: Genre,
    pub plie: String,
    pub charge: serde_json::Value,
    pub essais: i64,
    /// An earlier run started its outside effect and did not record its end (a crash): the
    /// effect may already exist.
    pub interrompue: bool,
}

/// Queues a task, in the caller's transaction. A key already queued is left as it is.
pub async fn ajouter(
    tx: &mut sqlx::SqliteConnection,
    cle: &str,
    genre: Genre,
    plie: &str,
    charge: &serde_json::Value,
    maintenant: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let le = db::instant(maintenant);
    sqlx::query(
        "INSERT INTO outbox (cle, genre, plie, charge, prochain_essai, cree_le)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cle) DO NOTHING",
    )
    .bind(cle)
    .bind(genre.code())
    .bind(plie)
    .bind(charge.to_string())
    .bind(&le)
    .bind(&le)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The tasks of these kinds due now, oldest first, but for those already taken (`sauf`).
pub async fn dues(
    db: &Pool,
    maintenant: DateTime<Utc>,
    genres: &[Genre],
    sauf: &HashSet<i64>,
    limite: usize,
) -> Result<Vec<Tache>, sqlx::Error> {
    let mut requete = sqlx::QueryBuilder::new(
        "SELECT id, cle, genre, plie, charge, essais, commence_le IS NOT NULL FROM outbox
         WHERE etat = 'attente' AND prochain_essai <= ",
    );
    requete
        .push_bind(db::instant(maintenant))
        .push(" AND genre IN (");
    let mut liste = requete.separated(", ");
    for g in genres {
        liste.push_bind(g.code());
    }
    requete
        .push(") ORDER BY prochain_essai, id LIMIT ")
        .push_bind((limite + sauf.len()) as i64);
    let rows: Vec<(i64, String, String, String, String, i64, bool)> =
        requete.build_query_as().fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .filter(|(id, ..)| !sauf.contains(id))
        .filter_map(|(id, cle, genre, plie, charge, essais, interrompue)| {
            Some(Tache {
                id,
                cle,
                genre: Genre::parse(&genre)?,
                plie,
                charge: serde_json::from_str(&charge).ok()?,
                essais,
                interrompue,
            })
        })
        .take(limite)
        .collect())
}

/// Marks a task done with what it produced, in the transaction that commits its effect.
/// False if it was already done (then the caller must roll back its effect).
pub async fn terminer(
    tx: &mut sqlx::SqliteConnection,
    id: i64,
    resultat: &serde_json::Value,
    maintenant: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query(
        // The text of a sent e-mail names people: it is not kept once sent (the secrets it
        // carried never were in it: see service::secrets).
        "UPDATE outbox SET etat = 'fait', resultat = ?, fait_le = ?, derniere_erreur = NULL,
           charge = json_remove(charge, '$.courriel.texte')
         WHERE id = ? AND etat = 'attente'",
    )
    .bind(resultat.to_string())
    .bind(db::instant(maintenant))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(fait.rows_affected() == 1)
}

/// Time before the next attempt: 2, 4, 8… seconds, at most 15 minutes.
pub fn attente(essais: i64) -> Duration {
    Duration::from_secs(2u64.saturating_pow(essais.clamp(1, 20) as u32).min(900))
}

/// Marks the outside effect of these tasks (e-mails handed to the SMTP server, entries
/// appended to the journal) as started, in one write: if the process dies before their end is
/// recorded, the next run knows the effect may exist ([`Tache::interrompue`]).
pub async fn commencer(
    db: &Pool,
    taches: &[&Tache],
    maintenant: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if taches.is_empty() {
        return Ok(());
    }
    let mut requete = sqlx::QueryBuilder::new("UPDATE outbox SET commence_le = ");
    requete
        .push_bind(db::instant(maintenant))
        .push(" WHERE id IN (");
    let mut ids = requete.separated(", ");
    for t in taches {
        ids.push_bind(t.id);
    }
    requete.push(")");
    requete.build().execute(db).await?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub async fn reporter(
    db: &Pool,
    tache: &Tache,
    erreur: &str,
    maintenant: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let essais = tache.essais + 1;
    let prochain = maintenant + attente(essais);
    sqlx::query(
        // A refused or failed SMTP exchange is not in doubt: the next one is not a resend. A
        // journal entry may have been written before the failure: it stays in doubt.
        "UPDATE outbox SET essais = ?, prochain_essai = ?, derniere_erreur = ?,
           commence_le = CASE genre WHEN 'journal' THEN commence_le END
         WHERE id = ? AND etat = 'attente'",
    )
    .bind(essais)
    .bind(db::instant(prochain))
    .bind(erreur)
    .bind(tache.id)
    .execute(db)
    .await?;
    Ok(())
}

/// Wakes the outbox's workers when a task is queued. Each worker keeps its own receiver, so
/// that a ring between two looks at the table is not lost.
pub struct Reveil(watch::Sender<()>);

impl Default for Reveil {
    fn default() -> Self {
        Reveil(watch::Sender::new(()))
    }
}

impl Reveil {
    /// After a commit that queued tasks.
    pub fn sonner(&self) {
        self.0.send_replace(());
    }

    /// A worker's receiver: [`watch::Receiver::changed`] resolves after the next ring.
    pub fn ecouter(&self) -> watch::Receiver<()> {
        self.0.subscribe()
    }
}

/// Tasks waiting (for the health endpoint): by kind, with the oldest's age.
#[derive(Debug, Serialize)]
pub struct Etat {
    pub en_attente: i64,
    pub en_echec: i64,
}

pub async fn etat(db: &Pool) -> Result<Etat, sqlx::Error> {
    let (en_attente, en_echec): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(essais > 0), 0) FROM outbox WHERE etat = 'attente'",
    )
    .fetch_one(db)
    .await?;
    Ok(Etat {
        en_attente,
        en_echec,
    })
}
