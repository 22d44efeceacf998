//! parafe's one clock: the service, the journal, the store, justificatifs and packs all read the
//! time here. In production the system clock; for tests and demonstrations it can be set at
//! start to another instant (`PARAFE_HORLOGE=2025-06-01T08:00:00Z`), from which it runs on: due
//! dates, reminders and expiries can then be shown without waiting months. Timestamps in seals
//! come from the TSA, never from this clock.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

#[derive(Debug, Clone, Copy, Default)]
pub struct Horloge {
    decalage: TimeDelta,
}

impl Horloge {
    pub fn systeme() -> Horloge {
        Horloge::default()
    }

    /// The clock of this process: `PARAFE_HORLOGE` when it is set, the system's otherwise.
    pub fn de_l_environnement() -> Result<Horloge, String> {
        match std::env::var("PARAFE_HORLOGE") {
            Err(_) => Ok(Horloge::systeme()),
            Ok(v) => DateTime::parse_from_rfc3339(&v)
                .map(|t| Horloge::depuis(t.with_timezone(&Utc)))
                .map_err(|_| {
                    format!(
                        "PARAFE_HORLOGE « {v} » : instant RFC 3339 attendu (2025-06-01T08:00:00Z)"
                    )
                }),
        }
    }

    /// A clock that reads `depart` now and runs on from there.
    pub fn depuis(depart: DateTime<Utc>) -> Horloge {
        Horloge {
            decalage: depart - Utc::now(),
        }
    }

    pub fn maintenant(&self) -> DateTime<Utc> {
        Utc::now() + self.decalage
    }

    /// Today in France.
    pub fn aujourdhui(&self) -> NaiveDate {
        jour_a_paris(self.maintenant())
    }
}

/// The day of an instant in France, where every deadline and date of the PLIE is counted.
pub fn jour_a_paris(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&chrono_tz::Europe::Paris).date_naive()
}
