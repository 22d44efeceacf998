//! Several instances on one database: the registry of instances (who runs, seen when) and the
//! leases of periodic work (one instance a period does it). The outbox's own leases are on its
//! rows: [`super::outbox::prendre`].

use super::{instant, parse_instant, Pool};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{AnyConnection, Connection};

/// The name of an instance alone (without `[grappe]`).
pub const SEULE: &str = "seule";

/// Time between two heartbeats of an instance; one not seen for three is taken for stopped.
pub const BATTEMENT: std::time::Duration = std::time::Duration::from_secs(10);

fn silence_admis() -> TimeDelta {
    TimeDelta::from_std(BATTEMENT * 3).unwrap_or(TimeDelta::MAX)
}

/// Takes the lease of the periodic job `nom` for `instance` until `jusqu_a`, in one statement:
/// granted when nobody holds it, when its lease has expired, or when `instance` holds it
/// already (it keeps the job from one period to the next). False: another instance does it.
pub async fn prendre_veille(
    db: &Pool,
    nom: &str,
    instance: &str,
    maintenant: DateTime<Utc>,
    jusqu_a: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let pris: Vec<String> = sqlx::query_scalar(
        "INSERT INTO veilles (nom, instance, jusqu_a) VALUES ($1, $2, $3)
         ON CONFLICT (nom) DO UPDATE SET instance = excluded.instance, jusqu_a = excluded.jusqu_a
         WHERE veilles.jusqu_a <= $4 OR veilles.instance = excluded.instance
         RETURNING nom",
    )
    .bind(nom)
    .bind(instance)
    .bind(instant(jusqu_a))
    .bind(instant(maintenant))
    .fetch_all(db)
    .await?;
    Ok(!pris.is_empty())
}

/// Why an instance may not start on this database.
#[derive(Debug, thiserror::Error)]
pub enum Refus {
    #[error(
        "une instance de parafe nommée « {nom} » tourne déjà sur cette base PostgreSQL ({hote}, \
         vue le {vue_le}) : donnez à chaque instance un nom à elle ([grappe] instance ou \
         PARAFE_INSTANCE), ou arrêtez l'autre"
    )]
    MemeNom {
        nom: String,
        hote: String,
        vue_le: String,
    },
    #[error(
        "une autre instance de parafe, « {nom} » ({hote}, vue le {vue_le}), utilise cette base \
         PostgreSQL : pour faire tourner plusieurs instances, déclarez dans chacune [grappe] \
         instance = \"un-nom\" (ou PARAFE_INSTANCE), avec un stockage S3 externe ([store] \
         endpoint) ; sinon arrêtez l'autre"
    )]
    AutreInstance {
        nom: String,
        hote: String,
        vue_le: String,
    },
    #[error(
        "une instance seule de parafe (sans [grappe]), {hote}, vue le {vue_le}, utilise cette \
         base PostgreSQL : déclarez-y aussi [grappe] instance = \"un-nom\" (avec un stockage S3 \
         externe) avant d'en ajouter d'autres, ou arrêtez-la"
    )]
    InstanceSeule { hote: String, vue_le: String },
    #[error("registre des instances illisible : {0}")]
    Sql(#[from] sqlx::Error),
}

/// This process in the registry: it beats in the `instances` table, on a connection of its own.
/// A live process holds a PostgreSQL session lock on its name (the server drops it with the
/// connection when the process dies, however it dies): in a cluster the exports' presence lock
/// (`controle`, taken right after registering), alone this connection's.
pub struct Inscription {
    conn: AnyConnection,
    url: String,
    nom: String,
    hote: String,
    /// Alone: this connection holds the name's lock.
    tient_le_nom: bool,
}

/// The lock of a live instance's name: the same key as the exports' presence lock.
fn verrou(nom: &str) -> String {
    format!("instance:{nom}")
}

/// The machine and the process, as messages name them.
fn hote() -> String {
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "machine inconnue".into());
    format!("{machine}, processus {}", std::process::id())
}

async fn prendre_le_nom(conn: &mut AnyConnection, nom: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
        .bind(verrou(nom))
        .fetch_one(conn)
        .await
}

impl Inscription {
    /// Registers the instance `nom` on the PostgreSQL database `url`, or says why it may not
    /// start: a live process carries the same name (it holds the name's lock: a process that
    /// died released it, so a restart after a crash is not refused); or, alone (`grappe`
    /// false), another instance was seen within three heartbeats; or, one of a cluster, an
    /// instance alone was.
    pub async fn prendre(
        url: &str,
        nom: &str,
        grappe: bool,
        maintenant: DateTime<Utc>,
    ) -> Result<Inscription, Refus> {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(url).await?;
        let vue = |(nom, hote, vue_le): (String, String, String)| {
            let vue_le = parse_instant(&vue_le)
                .map(parafe_core::model::heure_de_paris)
                .unwrap_or(vue_le);
            (nom, hote, vue_le)
        };
        // A process just killed may take a moment to be seen gone by the server.
        let mut libre = false;
        for essai in 0..20 {
            if essai > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            libre = prendre_le_nom(&mut conn, nom).await?;
            if libre {
                break;
            }
        }
        if !libre {
            let (nom, hote, vue_le) = sqlx::query_as::<_, (String, String, String)>(
                "SELECT nom, hote, vue_le FROM instances WHERE nom = $1",
            )
            .bind(nom)
            .fetch_optional(&mut conn)
            .await?
            .map(vue)
            .unwrap_or_else(|| (nom.to_owned(), "machine inconnue".into(), "?".into()));
            // Alone, the other is alone too: what it lacks is [grappe], not another name.
            return Err(if grappe {
                Refus::MemeNom { nom, hote, vue_le }
            } else {
                Refus::AutreInstance { nom, hote, vue_le }
            });
        }
        let vivantes: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT nom, hote, vue_le FROM instances WHERE nom <> $1 AND vue_le > $2
             ORDER BY vue_le DESC",
        )
        .bind(nom)
        .bind(instant(maintenant - silence_admis()))
        .fetch_all(&mut conn)
        .await?;
        for autre in vivantes.into_iter().map(vue) {
            let (autre, hote, vue_le) = autre;
            if !grappe {
                return Err(Refus::AutreInstance {
                    nom: autre,
                    hote,
                    vue_le,
                });
            }
            if autre == SEULE {
                return Err(Refus::InstanceSeule { hote, vue_le });
            }
        }
        if grappe {
            // The exports' presence lock holds the name from now on, for the process's life.
            sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
                .bind(verrou(nom))
                .execute(&mut conn)
                .await?;
        }
        let hote = hote();
        let le = instant(maintenant);
        sqlx::query(
            "INSERT INTO instances (nom, hote, demarree_le, vue_le) VALUES ($1, $2, $3, $3)
             ON CONFLICT (nom) DO UPDATE SET hote = excluded.hote,
               demarree_le = excluded.demarree_le, vue_le = excluded.vue_le",
        )
        .bind(nom)
        .bind(&hote)
        .bind(&le)
        .execute(&mut conn)
        .await?;
        Ok(Inscription {
            conn,
            url: url.to_owned(),
            nom: nom.to_owned(),
            hote,
            tient_le_nom: !grappe,
        })
    }

    /// One heartbeat. A connection lost on the way is opened again, and alone the name's lock
    /// taken again: refused if another process took it meanwhile.
    pub async fn battre(&mut self, maintenant: DateTime<Utc>) -> Result<(), Refus> {
        if self.conn.ping().await.is_err() {
            let mut conn = AnyConnection::connect(&self.url).await?;
            if self.tient_le_nom && !prendre_le_nom(&mut conn, &self.nom).await? {
                return Err(Refus::MemeNom {
                    nom: self.nom.clone(),
                    hote: "un autre processus".into(),
                    vue_le: instant(maintenant),
                });
            }
            self.conn = conn;
        }
        sqlx::query(
            "INSERT INTO instances (nom, hote, demarree_le, vue_le) VALUES ($1, $2, $3, $3)
             ON CONFLICT (nom) DO UPDATE SET vue_le = excluded.vue_le",
        )
        .bind(&self.nom)
        .bind(&self.hote)
        .bind(instant(maintenant))
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }

    pub fn nom(&self) -> &str {
        &self.nom
    }
}
