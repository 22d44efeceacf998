//! The outbox table: tasks waiting (`attente`), done (`fait`) or given up (`abandon`, after a
//! permanent failure, with its reason). What the tasks mean and how they run: `crate::outbox`.

use super::{instant, Pool};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashSet;

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
    tx: &mut sqlx::AnyConnection,
    cle: &str,
    genre: Genre,
    plie: &str,
    charge: &serde_json::Value,
    maintenant: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let le = instant(maintenant);
    sqlx::query(
        "INSERT INTO outbox (cle, genre, plie, charge, prochain_essai, cree_le)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (cle) DO NOTHING",
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

/// A task's row as [`prendre`] takes it.
#[derive(sqlx::FromRow)]
struct Prise {
    id: i64,
    cle: String,
    genre: String,
    plie: String,
    charge: String,
    essais: i64,
    prochain_essai: String,
    interrompue: i64,
}

/// Takes up to `limite` due tasks of these kinds for `instance`, oldest first, in one statement:
/// those whose lease is absent or expired (a task another instance runs is not due), leased
/// until `bail_jusqu_a`. With `commencer`, their outside effect (e-mails handed to the SMTP
/// server, entries appended to the journal) is marked started in the same write: if the holder
/// dies before their end is recorded, the next knows the effect may exist. A task that was begun by an earlier holder (a crash, or an instance
/// that died) comes back [`Tache::interrompue`].
pub async fn prendre(
    db: &Pool,
    instance: &str,
    maintenant: DateTime<Utc>,
    bail_jusqu_a: DateTime<Utc>,
    genres: &[Genre],
    limite: usize,
    commencer: bool,
) -> Result<Vec<Tache>, sqlx::Error> {
    if limite == 0 {
        return Ok(Vec::new());
    }
    let dialecte = super::Dialecte::du_pool(db);
    let le = instant(maintenant);
    let mut requete = crate::db::Requete::new(dialecte, "UPDATE outbox SET bail_instance = ");
    requete
        .push_bind(instance.to_owned())
        .push(", bail_jusqu_a = ")
        .push_bind(instant(bail_jusqu_a));
    if commencer {
        // SET reads the row as it was: a start already marked stays, and tells the resend.
        requete
            .push(", commence_le = coalesce(commence_le, ")
            .push_bind(le.clone())
            .push(")");
    }
    requete
        .push(
            " WHERE id IN (SELECT id FROM outbox
               WHERE etat = 'attente' AND prochain_essai <= ",
        )
        .push_bind(le.clone())
        .push(" AND (bail_jusqu_a IS NULL OR bail_jusqu_a <= ")
        .push_bind(le.clone())
        .push(") AND genre IN (");
    let mut liste = requete.separated(", ");
    for g in genres {
        liste.push_bind(g.code());
    }
    requete
        .push(") ORDER BY prochain_essai, id LIMIT ")
        .push_bind(limite as i64);
    if dialecte == super::Dialecte::Postgres {
        // Two instances claiming at once take different rows, neither waits for the other.
        requete.push(" FOR UPDATE SKIP LOCKED");
    }
    requete.push(") RETURNING id, cle, genre, plie, charge, essais, prochain_essai, ");
    if commencer {
        // Marked now, or earlier (same instant to the millisecond: never, the clock runs on).
        requete
            .push("CASE WHEN commence_le = ")
            .push_bind(le)
            .push(" THEN 0 ELSE 1 END AS interrompue");
    } else {
        requete.push("CASE WHEN commence_le IS NULL THEN 0 ELSE 1 END AS interrompue");
    }
    let mut prises: Vec<Prise> = requete.build_query_as().fetch_all(db).await?;
    // RETURNING follows no order: the journal's entries keep their queue's.
    prises.sort_by(|a, b| (&a.prochain_essai, a.id).cmp(&(&b.prochain_essai, b.id)));
    let mut taches = Vec::new();
    for Prise {
        id,
        cle,
        genre,
        plie,
        charge,
        essais,
        interrompue,
        ..
    } in prises
    {
        // The kinds were filtered in SQL: only the payload can fail here.
        let Some(genre) = Genre::parse(&genre) else {
            continue;
        };
        match serde_json::from_str(&charge) {
            Ok(charge) => taches.push(Tache {
                id,
                cle,
                genre,
                plie,
                charge,
                essais,
                interrompue: interrompue != 0,
            }),
            // Trying it again would fail the same way: given up, staff see why.
            Err(e) => {
                let raison = format!("charge de la tâche illisible : {e}");
                abandonner_id(db, instance, id, essais, &raison, maintenant).await?;
            }
        }
    }
    Ok(taches)
}

/// Extends the leases `instance` still holds on these tasks (those it runs, and those it
/// finished but has not recorded yet), in one statement per few thousand. A lease lost meanwhile
/// stays lost.
pub async fn renouveler(
    db: &Pool,
    instance: &str,
    ids: &[i64],
    bail_jusqu_a: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    poser_les_baux(db, instance, ids, Some(instant(bail_jusqu_a))).await
}

/// Gives back the leases of these tasks (a lot that panicked, acceptances not recorded): due
/// again at once, for any instance.
pub async fn liberer(db: &Pool, instance: &str, ids: &[i64]) -> Result<(), sqlx::Error> {
    poser_les_baux(db, instance, ids, None).await
}

/// Sets the end of the leases `instance` still holds on these tasks (None: given back).
async fn poser_les_baux(
    db: &Pool,
    instance: &str,
    ids: &[i64],
    jusqu_a: Option<String>,
) -> Result<(), sqlx::Error> {
    for lot in ids.chunks(super::PARAMETRES_PAR_REQUETE - 2) {
        let mut requete = crate::db::Requete::new(
            super::Dialecte::du_pool(db),
            "UPDATE outbox SET bail_jusqu_a = ",
        );
        requete
            .push_bind(jusqu_a.clone())
            .push(" WHERE etat = 'attente' AND bail_jusqu_a IS NOT NULL AND bail_instance = ")
            .push_bind(instance.to_owned())
            .push(" AND id IN (");
        let mut liste = requete.separated(", ");
        for id in lot {
            liste.push_bind(*id);
        }
        requete.push(")");
        requete.build().execute(db).await?;
    }
    Ok(())
}

/// At start: the leases this instance's name held in its previous life (a crash) are given
/// back, so that its tasks run again at once rather than after their expiry. Only right when no
/// other live process carries the name (`App::inscrire` sees to it on PostgreSQL).
pub async fn liberer_les_miens(db: &Pool, instance: &str) -> Result<u64, sqlx::Error> {
    let fait = sqlx::query(
        "UPDATE outbox SET bail_jusqu_a = NULL
         WHERE bail_instance = $1 AND etat = 'attente' AND bail_jusqu_a IS NOT NULL",
    )
    .bind(instance)
    .execute(db)
    .await?;
    Ok(fait.rows_affected())
}

/// Marks tasks done with what each produced, in the transaction that commits their effects,
/// in one statement per few thousand tasks. Returns the ids marked now: a task already done is
/// left out (then the caller must roll back its effect), and so is a task whose lease
/// `instance` lost: another instance took it over, and records it.
pub async fn terminer(
    tx: &mut sqlx::AnyConnection,
    instance: &str,
    faites: &[(i64, serde_json::Value)],
    maintenant: DateTime<Utc>,
) -> Result<HashSet<i64>, sqlx::Error> {
    let le = instant(maintenant);
    let mut marquees = HashSet::new();
    for lot in faites.chunks(super::PARAMETRES_PAR_REQUETE / 2) {
        // The text of a sent e-mail names people: it is not kept once sent (the secrets it
        // carried never were in it: see service::secrets).
        let mut requete = crate::db::Requete::new(
            super::Dialecte::de(tx),
            "UPDATE outbox SET etat = 'fait', fait_le = ",
        );
        requete.push_bind(&le).push(
            ", resultat = v.column2, derniere_erreur = NULL,
               charge = json_remove(charge, '$.courriel.texte') FROM (",
        );
        requete.push_values(lot, |mut ligne, (id, resultat)| {
            ligne.push_bind(*id).push_bind(resultat.to_string());
        });
        requete
            .push(") AS v WHERE outbox.id = v.column1 AND outbox.etat = 'attente' AND outbox.bail_instance = ")
            .push_bind(instance.to_owned())
            .push(" RETURNING outbox.id");
        let ids: Vec<i64> = requete.build_query_scalar().fetch_all(&mut *tx).await?;
        marquees.extend(ids);
    }
    Ok(marquees)
}

/// Records a failed attempt and when to try again; the lease is given back. Nothing is written
/// when `instance` lost the task's lease.
pub async fn reporter(
    db: &Pool,
    instance: &str,
    tache: &Tache,
    erreur: &str,
    prochain: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        // A refused or failed SMTP exchange is not in doubt: the next one is not a resend. A
        // journal entry may have been written before the failure: it stays in doubt.
        "UPDATE outbox SET essais = $1, prochain_essai = $2, derniere_erreur = $3,
           commence_le = CASE genre WHEN 'journal' THEN commence_le END, bail_jusqu_a = NULL
         WHERE id = $4 AND etat = 'attente' AND bail_instance = $5",
    )
    .bind(tache.essais + 1)
    .bind(instant(prochain))
    .bind(erreur)
    .bind(tache.id)
    .bind(instance)
    .execute(db)
    .await?;
    Ok(())
}

/// Gives a task up after a permanent failure, with its reason: it is not tried again. Nothing
/// is written when `instance` lost the task's lease.
pub async fn abandonner(
    db: &Pool,
    instance: &str,
    tache: &Tache,
    raison: &str,
    maintenant: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    abandonner_id(db, instance, tache.id, tache.essais, raison, maintenant).await
}

async fn abandonner_id(
    db: &Pool,
    instance: &str,
    id: i64,
    essais: i64,
    raison: &str,
    maintenant: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET etat = 'abandon', essais = $1, derniere_erreur = $2, fait_le = $3,
           commence_le = NULL, bail_jusqu_a = NULL,
           charge = CASE WHEN json_valid(charge) THEN json_remove(charge, '$.courriel.texte')
                    ELSE charge END
         WHERE id = $4 AND etat = 'attente' AND bail_instance = $5",
    )
    .bind(essais + 1)
    .bind(raison)
    .bind(instant(maintenant))
    .bind(id)
    .bind(instance)
    .execute(db)
    .await?;
    Ok(())
}

/// Deliveries of a document's sealed version (`remise:<document>:…`) not done yet, given up
/// ones included: the document is delivered only when every one is done.
pub async fn remises_restantes(
    tx: &mut sqlx::AnyConnection,
    document: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE cle LIKE $1 AND etat <> 'fait'")
        .bind(format!("remise:{document}:%"))
        .fetch_one(&mut *tx)
        .await
}

/// A task given up, as staff see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Abandon {
    pub genre: String,
    pub raison: String,
    /// UTC instant it was given up.
    #[serde(serialize_with = "super::en_instant")]
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub le: DateTime<Utc>,
}

/// The tasks of a document given up (its sealing, filing or e-mails), oldest first.
pub async fn abandons_du_document(
    db: &Pool,
    plie: &str,
    document: &str,
) -> Result<Vec<Abandon>, sqlx::Error> {
    sqlx::query_as(
        "SELECT genre, coalesce(derniere_erreur, '') AS raison, coalesce(fait_le, cree_le) AS le
         FROM outbox
         WHERE plie = $1 AND etat = 'abandon'
           AND CASE WHEN json_valid(charge) THEN json_extract(charge, '$.document') END = $2
         ORDER BY id",
    )
    .bind(plie)
    .bind(document)
    .fetch_all(db)
    .await
}

/// The outbox at a glance (for the health endpoint): tasks waiting, those among them that
/// failed at least once, and those given up.
#[derive(Debug, Serialize)]
pub struct Decompte {
    pub en_attente: i64,
    pub en_echec: i64,
    pub abandons: i64,
}

pub async fn decompte(db: &Pool) -> Result<Decompte, sqlx::Error> {
    let (en_attente, en_echec, abandons): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(CASE WHEN etat = 'attente' THEN 1 END),
                count(CASE WHEN etat = 'attente' AND essais > 0 THEN 1 END),
                count(CASE WHEN etat = 'abandon' THEN 1 END)
         FROM outbox WHERE etat IN ('attente', 'abandon')",
    )
    .fetch_one(db)
    .await?;
    Ok(Decompte {
        en_attente,
        en_echec,
        abandons,
    })
}

/// Which of these task keys are already queued (done or not), asked 500 at a time.
pub async fn cles_connues(db: &Pool, cles: &[&str]) -> Result<HashSet<String>, sqlx::Error> {
    let mut connues = HashSet::new();
    for lot in cles.chunks(500) {
        let mut requete = crate::db::Requete::new(
            super::Dialecte::du_pool(db),
            "SELECT cle FROM outbox WHERE cle IN (",
        );
        let mut liste = requete.separated(", ");
        for cle in lot {
            liste.push_bind(*cle);
        }
        requete.push(")");
        let trouvees: Vec<String> = requete.build_query_scalar().fetch_all(db).await?;
        connues.extend(trouvees);
    }
    Ok(connues)
}
