//! An embedded installation's rows moved into PostgreSQL (`parafe base copier`): every table of
//! the SQLite file, in one PostgreSQL transaction, into an empty database whose schema the same
//! migrations made. Identifiers are kept (links, journal entries and packs name them), then each
//! identity column starts after the largest one copied.

use super::{Pool, Requete, PARAMETRES_PAR_REQUETE};
use futures::TryStreamExt;
use sqlx::{Acquire, AnyConnection, Row};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error)]
pub enum CopieError {
    #[error(
        "la base PostgreSQL n'est pas vide (table {table} : {lignes} ligne(s)) : la copie se fait \
         dans une base neuve, créée pour elle"
    )]
    CibleNonVide { table: String, lignes: i64 },
    #[error("table {table}, colonne {colonne} : valeur illisible dans la base SQLite ({source})")]
    Valeur {
        table: String,
        colonne: String,
        source: sqlx::Error,
    },
    #[error("après la copie, la table {table} compte {cible} ligne(s) dans PostgreSQL pour {source_} dans SQLite : rien n'est gardé")]
    Compte {
        table: String,
        source_: i64,
        cible: i64,
    },
    #[error("les clés étrangères des tables {0} forment une boucle : ordre de copie introuvable")]
    Boucle(String),
    #[error("erreur de la base de données : {0}")]
    Sql(#[from] sqlx::Error),
}

/// A column of the PostgreSQL schema, and how its values are read from SQLite.
struct Colonne {
    nom: String,
    genre: Genre,
}

enum Genre {
    Entier,
    Texte,
    Octets,
}

/// What SQLite stored that PostgreSQL's schema writes otherwise: addresses in lowercase
/// (SQLite compared them without regard to case).
fn expression(table: &str, colonne: &str) -> String {
    match (table, colonne) {
        ("personnel", "email") => "lower(email)".into(),
        _ => colonne.into(),
    }
}

/// Copies every row of `source` (SQLite) into `cible` (PostgreSQL, migrated, empty); returns
/// the rows copied by table. Nothing is kept unless everything is.
pub async fn vers_postgres(source: &Pool, cible: &Pool) -> Result<Vec<(String, i64)>, CopieError> {
    let mut conn = cible.acquire().await?;
    let mut tx = conn.begin().await?;
    let tables = ordre_des_tables(&mut tx).await?;
    for table in &tables {
        let lignes: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await?;
        if lignes > 0 {
            return Err(CopieError::CibleNonVide {
                table: table.clone(),
                lignes,
            });
        }
    }
    let mut copiees = Vec::new();
    for table in &tables {
        let colonnes = colonnes(&mut tx, table).await?;
        let lues: Vec<String> = colonnes.iter().map(|c| expression(table, &c.nom)).collect();
        let par_lot = PARAMETRES_PAR_REQUETE / colonnes.len().max(1);
        let mut lues_n = 0i64;
        let mut lot = Vec::with_capacity(par_lot);
        let select = format!("SELECT {} FROM {table}", lues.join(", "));
        let mut flux = sqlx::query(&select).fetch(source);
        while let Some(row) = flux.try_next().await? {
            lot.push(row);
            if lot.len() == par_lot {
                inserer(&mut tx, table, &colonnes, &lot).await?;
                lues_n += lot.len() as i64;
                lot.clear();
            }
        }
        inserer(&mut tx, table, &colonnes, &lot).await?;
        lues_n += lot.len() as i64;
        let cible_n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await?;
        if cible_n != lues_n {
            return Err(CopieError::Compte {
                table: table.clone(),
                source_: lues_n,
                cible: cible_n,
            });
        }
        copiees.push((table.clone(), cible_n));
    }
    // Each identity continues after the identifiers it was given.
    let identites: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, colonne) in identites {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{colonne}'),
                           coalesce((SELECT max({colonne}) FROM {table}), 0) + 1, false)"
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(copiees)
}

/// Rows read from SQLite written into `table` by one statement.
async fn inserer(
    tx: &mut AnyConnection,
    table: &str,
    colonnes: &[Colonne],
    lot: &[sqlx::any::AnyRow],
) -> Result<(), CopieError> {
    if lot.is_empty() {
        return Ok(());
    }
    let liste: Vec<&str> = colonnes.iter().map(|c| c.nom.as_str()).collect();
    let mut requete = Requete::new(
        super::Dialecte::Postgres,
        &format!("INSERT INTO {table} ({}) ", liste.join(", ")),
    );
    let mut erreur = None;
    requete.push_values(lot, |mut ligne, row| {
        for (i, c) in colonnes.iter().enumerate() {
            let lu = match c.genre {
                Genre::Entier => row.try_get::<Option<i64>, _>(i).map(|v| {
                    ligne.push_bind(v);
                }),
                Genre::Texte => row.try_get::<Option<String>, _>(i).map(|v| {
                    ligne.push_bind(v);
                }),
                Genre::Octets => row.try_get::<Option<Vec<u8>>, _>(i).map(|v| {
                    ligne.push_bind(v);
                }),
            };
            if let Err(source) = lu {
                erreur.get_or_insert(CopieError::Valeur {
                    table: table.to_owned(),
                    colonne: c.nom.clone(),
                    source,
                });
            }
        }
    });
    if let Some(e) = erreur {
        return Err(e);
    }
    requete.build().execute(&mut *tx).await?;
    Ok(())
}

/// The tables of the PostgreSQL schema, each after those its foreign keys name.
async fn ordre_des_tables(tx: &mut AnyConnection) -> Result<Vec<String>, CopieError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
           AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(&mut *tx)
    .await?;
    let liens: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.relname::text, r.relname::text FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
         WHERE c.contype = 'f' AND t.relname <> r.relname",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut avant: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (table, nommee) in &liens {
        avant.entry(table).or_default().insert(nommee);
    }
    let mut ordre: Vec<String> = Vec::new();
    let mut restantes: BTreeSet<&str> = tables.iter().map(String::as_str).collect();
    while !restantes.is_empty() {
        let pretes: Vec<&str> = restantes
            .iter()
            .copied()
            .filter(|t| {
                avant
                    .get(t)
                    .is_none_or(|n| n.iter().all(|n| !restantes.contains(n)))
            })
            .collect();
        if pretes.is_empty() {
            let boucle: Vec<&str> = restantes.into_iter().collect();
            return Err(CopieError::Boucle(boucle.join(", ")));
        }
        for t in pretes {
            restantes.remove(t);
            ordre.push(t.to_owned());
        }
    }
    Ok(ordre)
}

/// The columns of a table in PostgreSQL, in order.
async fn colonnes(tx: &mut AnyConnection, table: &str) -> Result<Vec<Colonne>, CopieError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(nom, type_)| Colonne {
            genre: match type_.as_str() {
                "bigint" | "integer" | "smallint" => Genre::Entier,
                "bytea" => Genre::Octets,
                _ => Genre::Texte,
            },
            nom,
        })
        .collect())
}
