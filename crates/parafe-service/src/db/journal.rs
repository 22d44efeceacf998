//! The journal shared by the instances of a cluster (`[grappe]`): each chain's lines and the
//! anchors, in the cluster's PostgreSQL (`parafe_journal::partage`).
//!
//! The journal runs on blocking threads and asks synchronously; the questions go to a thread of
//! its own, with its own runtime and connections, so that they are answered whatever thread
//! asks (an async worker included) and never wait behind the service's own queries.

use super::{est_doublon, Dialecte, Pool, Requete, PARAMETRES_PAR_REQUETE};
use parafe_core::model::PlieId;
use parafe_journal::partage::{deja_publie, Ligne, Partage};
use sqlx::any::AnyPoolOptions;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::mpsc;

type Travail = Box<dyn FnOnce(Pool) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Lines read per statement when a replica catches up (a new instance reads whole chains).
const PAGE: i64 = 20_000;

pub struct JournalPartage {
    envoi: tokio::sync::mpsc::UnboundedSender<Travail>,
}

/// A refusal of the unique index keeps its kind: another instance wrote there first.
fn io_de(e: sqlx::Error) -> io::Error {
    let kind = if est_doublon(&e) {
        io::ErrorKind::AlreadyExists
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(kind, format!("journal partagé : {e}"))
}

impl JournalPartage {
    /// Connects to `url` (the cluster's database, migrated by the service) on a thread of its own.
    pub fn ouvrir(url: &str) -> io::Result<JournalPartage> {
        sqlx::any::install_default_drivers();
        let (envoi, mut recu) = tokio::sync::mpsc::unbounded_channel::<Travail>();
        let (pret, attente) = mpsc::sync_channel::<io::Result<()>>(1);
        let url = url.to_owned();
        std::thread::Builder::new()
            .name("journal-partage".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = pret.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let pool = match AnyPoolOptions::new().max_connections(4).connect(&url).await {
                        Ok(p) => p,
                        Err(e) => {
                            let _ = pret.send(Err(io_de(e)));
                            return;
                        }
                    };
                    let _ = pret.send(Ok(()));
                    while let Some(travail) = recu.recv().await {
                        tokio::spawn(travail(pool.clone()));
                    }
                });
            })?;
        attente
            .recv()
            .map_err(|_| io::Error::other("journal partagé : fil arrêté"))??;
        Ok(JournalPartage { envoi })
    }

    /// Runs `f` on the journal's thread and waits for its answer.
    fn demander<T, F>(&self, f: impl FnOnce(Pool) -> F + Send + 'static) -> io::Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, sqlx::Error>> + Send + 'static,
    {
        let (reponse, attente) = mpsc::sync_channel(1);
        let travail: Travail = Box::new(move |pool| {
            Box::pin(async move {
                let _ = reponse.send(f(pool).await);
            })
        });
        self.envoi
            .send(travail)
            .map_err(|_| io::Error::other("journal partagé : fil arrêté"))?;
        attente
            .recv()
            .map_err(|_| io::Error::other("journal partagé : fil arrêté"))?
            .map_err(io_de)
    }
}

impl Partage for JournalPartage {
    fn lignes_apres(&self, plie: &PlieId, seq: u64) -> io::Result<Vec<Ligne>> {
        let plie = plie.as_str().to_owned();
        self.demander(move |pool| async move {
            let mut lignes = Vec::new();
            let mut apres = seq as i64;
            loop {
                let page: Vec<(i64, i64, String)> = sqlx::query_as(
                    "SELECT seq, segment, ligne FROM journal_ligne
                     WHERE plie = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(&plie)
                .bind(apres)
                .bind(PAGE)
                .fetch_all(&pool)
                .await?;
                let fin = (page.len() as i64) < PAGE;
                apres = page.last().map_or(apres, |l| l.0);
                lignes.extend(page.into_iter().map(|(seq, segment, texte)| Ligne {
                    seq: seq as u64,
                    segment: segment as u64,
                    texte,
                }));
                if fin {
                    return Ok(lignes);
                }
            }
        })
    }

    fn publier(&self, plie: &PlieId, lignes: &[Ligne]) -> io::Result<()> {
        let (plie, lignes) = (plie.as_str().to_owned(), lignes.to_vec());
        let publie = self.demander(move |pool| async move {
            let dialecte = Dialecte::du_pool(&pool);
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO journal_chaine (plie) VALUES ($1) ON CONFLICT (plie) DO NOTHING",
            )
            .bind(&plie)
            .execute(&mut *tx)
            .await?;
            for lot in lignes.chunks(PARAMETRES_PAR_REQUETE / 4) {
                let mut requete = Requete::new(
                    dialecte,
                    "INSERT INTO journal_ligne (plie, seq, segment, ligne) ",
                );
                requete.push_values(lot, |mut l, ligne| {
                    l.push_bind(plie.clone())
                        .push_bind(ligne.seq as i64)
                        .push_bind(ligne.segment as i64)
                        .push_bind(ligne.texte.clone());
                });
                requete.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        });
        match publie {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(deja_publie("une entrée du journal"))
            }
            other => other,
        }
    }

    fn plies(&self) -> io::Result<Vec<PlieId>> {
        let noms: Vec<String> = self.demander(|pool| async move {
            sqlx::query_scalar("SELECT plie FROM journal_chaine ORDER BY plie")
                .fetch_all(&pool)
                .await
        })?;
        Ok(noms.iter().filter_map(|n| PlieId::new(n).ok()).collect())
    }

    fn ancres_apres(&self, numero: u64) -> io::Result<Vec<String>> {
        self.demander(move |pool| async move {
            sqlx::query_scalar("SELECT ligne FROM journal_ancre WHERE numero > $1 ORDER BY numero")
                .bind(numero as i64)
                .fetch_all(&pool)
                .await
        })
    }

    fn publier_ancre(&self, numero: u64, ligne: &str) -> io::Result<()> {
        let ligne = ligne.to_owned();
        let publie = self.demander(move |pool| async move {
            sqlx::query("INSERT INTO journal_ancre (numero, ligne) VALUES ($1, $2)")
                .bind(numero as i64)
                .bind(ligne)
                .execute(&pool)
                .await
                .map(|_| ())
        });
        match publie {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(deja_publie(&format!("l'ancre n° {numero}")))
            }
            other => other,
        }
    }
}
