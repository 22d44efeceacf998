//! The durable outbox: sealing (with its timestamp request), filing in the evidence store and
//! e-mails are tasks written in the database in the same transaction as the state change that
//! calls for them. A worker runs the due ones; a transient failure (TSA, store or SMTP server
//! down, disk) sets the next attempt further away; a permanent one (invalid data, refused
//! transition, document gone, template that does not compose, address the SMTP server refuses
//! for good) gives the task up at once with its reason, for staff to see (`/api/sante`, the
//! document's page); a crash leaves them in the table, to run after restart.
//!
//! Each task has a unique key (`sceller:<document>`, `remise:<document>:<destinataire>`): it
//! is queued once, and it is marked done in the same transaction as its effect, so that a task
//! is never done twice. One window cannot be closed, for any SMTP client: a crash after the
//! server accepted a message but before its answer was recorded. Such a message is known (its
//! sending was marked started) and goes again after restart with the same `Message-ID` and an
//! `X-Parafe-Renvoi` header, so that receivers recognise it; the evidence says so.

pub use crate::db::outbox::{ajouter, decompte, Genre, Tache};
use std::time::Duration;
use tokio::sync::watch;

/// Time before the next attempt: 2, 4, 8… seconds, at most 15 minutes.
pub fn attente(essais: i64) -> Duration {
    Duration::from_secs(2u64.saturating_pow(essais.clamp(1, 20) as u32).min(900))
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
