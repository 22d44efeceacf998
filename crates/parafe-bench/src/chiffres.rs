//! `parafe-bench chiffres`: the PLIE's figures of one opération of 10,000 participants over a
//! year (entries from mid-2024 to December 2025, six in ten exited with a reason, their entry
//! and exit questionnaires), the JSON route and the screen each asked over HTTP of the
//! service's own router, in this process, with a coordinateur's session (p50 / p95).
//!
//! The participants come through the import; the questionnaires are written by SQL (as the other
//! benches' histories): the figures are measured, not the typing. Target: ≤ 300 ms.

use crate::commun::{
    centile, coordinateur, echec, importer, mesurer, runtime, service_du_jour, servir, session,
    CliError, CliResult,
};
use chrono::{NaiveDate, TimeDelta};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Participants of the opération.
    #[arg(long, default_value_t = 10_000)]
    pub participants: usize,
    /// Requests per page measured (after 5 for warming up).
    #[arg(long, default_value_t = 50)]
    pub requetes: usize,
    /// A PostgreSQL cluster (postgres://utilisateur@hote:port): the same again on a new
    /// database of it, after SQLite.
    #[arg(long)]
    pub postgres: Option<String>,
}

const AU: &str = "2025-12-18T08:00:00Z";
const OPERATION: &str = "202500417";
const MOTIFS: [&str; 7] = [
    "Emploi CDI",
    "CDD de 6 mois ou plus",
    "Formation qualifiante",
    "Déménagement",
    "Abandon",
    "Création d'entreprise",
    "Perte de contact",
];

/// The extraction: 13 référents, entries every day or so from June 2024, six in ten exited
/// 4 to 16 months later (if by the bench's day).
fn extraction(args: &BenchArgs) -> String {
    let mut csv = parafe::import::en_tete();
    csv.push('\n');
    let debut = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap_or_default();
    let au = NaiveDate::from_ymd_opt(2025, 12, 18).unwrap_or_default();
    for i in 0..args.participants {
        let r = i % 13;
        let entree = debut + TimeDelta::days((i as i64 * 37) % 560);
        let sortie = entree + TimeDelta::days(120 + (i as i64 * 11) % 360);
        let (sortie, motif) = if i % 5 < 3 && sortie <= au {
            (
                sortie.format("%d/%m/%Y").to_string(),
                MOTIFS[i % MOTIFS.len()],
            )
        } else {
            (String::new(), "")
        };
        csv.push_str(&format!(
            "C-{i:06};Madame;Nom{i};Camille;01/01/{};;;21000;Dijon;21;referent{r}@plie.fr;Référent{r};R;{OPERATION};France Travail;;{};Non;;{sortie};{motif}\n",
            1960 + i % 45,
            entree.format("%d/%m/%Y"),
        ));
    }
    csv
}

/// Entry answers for 19 participants in 20, exit answers for 4 exits in 5: varied enough that
/// every indicator counts someone.
fn sql_questionnaires(coordinateur: i64) -> [String; 2] {
    let v = |id: &str, valeur: &str| format!("'\"{id}\":{{\"valeur\":\"' || {valeur} || '\"}}'");
    let entree = [
        v("date_naissance", "substr(p.date_naissance, 1, 10)"),
        v("date_questionnaire", "p.date_entree"),
        v("q1", "CASE WHEN p.id % 6 = 0 THEN '1c' ELSE 'non' END"),
        v("q1f", "CASE WHEN p.id % 7 = 0 THEN 'non' ELSE 'oui' END"),
        v("q1g", "CAST(p.id % 30 AS TEXT)"),
        v(
            "q2",
            "CASE p.id % 3 WHEN 0 THEN 'cite_0_2' WHEN 1 THEN 'cite_3_4' ELSE 'cite_5_8' END",
        ),
        v(
            "handicap",
            "CASE WHEN p.id % 9 = 0 THEN 'oui' ELSE 'non' END",
        ),
        v(
            "nationalite",
            "CASE WHEN p.id % 8 = 0 THEN 'pays_tiers' ELSE 'francaise' END",
        ),
        v(
            "origine",
            "CASE WHEN p.id % 4 = 0 THEN 'oui' ELSE 'non' END",
        ),
        v("minorite", "'non'"),
        v(
            "logement",
            "CASE WHEN p.id % 11 = 0 THEN 'oui' ELSE 'non' END",
        ),
        v(
            "zone_rurale",
            "CASE WHEN p.id % 5 = 0 THEN 'oui' ELSE 'non' END",
        ),
    ]
    .join(" || ',' || ");
    let sortie = [
        v("date_recueil_sortie", "p.date_sortie"),
        v("s1", "CASE WHEN p.id % 2 = 0 THEN '1b' ELSE 'non' END"),
        v("s1f", "'oui'"),
        v("s2", "CASE WHEN p.id % 3 = 0 THEN 'oui' ELSE 'non' END"),
    ]
    .join(" || ',' || ");
    let inserer = |moment: &str, reponses: &str, jour: &str, filtre: &str| {
        format!(
            "INSERT INTO questionnaire (plie, participant_id, operation_id, moment, programme, version,
                reponses, recueilli_le, saisi_par, saisi_le)
             SELECT p.plie, p.id, p.operation_id, '{moment}', 'fse-plus-2021-2027', '2021',
                    '{{' || {reponses} || '}}', {jour}, {coordinateur}, '2025-01-01T00:00:00.000Z'
             FROM participant p WHERE {filtre}"
        )
    };
    [
        inserer("entree", &entree, "p.date_entree", "p.id % 20 <> 0"),
        inserer(
            "sortie",
            &sortie,
            "p.date_sortie",
            "p.date_sortie IS NOT NULL AND p.id % 5 <> 0",
        ),
    ]
}

pub fn bench(args: BenchArgs) -> CliResult {
    runtime()?.block_on(async move {
        for grappe in std::iter::once(None).chain(args.postgres.as_deref().map(Some)) {
            mesurer_sur(&args, grappe).await?;
        }
        Ok::<(), CliError>(())
    })
}

/// The database built, then both pages measured, on SQLite or on a new database of `grappe`.
async fn mesurer_sur(args: &BenchArgs, grappe: Option<&str>) -> CliResult {
    let (_dossier, app) = service_du_jour(AU, grappe).await?;
    let t = Instant::now();
    importer(&app, &extraction(args)).await?;
    let coordinateur = coordinateur(&app).await?;
    for sql in sql_questionnaires(coordinateur) {
        sqlx::query(&sql).execute(&app.db).await.map_err(echec)?;
    }
    sqlx::query("ANALYZE")
        .execute(&app.db)
        .await
        .map_err(echec)?;
    let (questionnaires,): (i64,) = sqlx::query_as("SELECT count(*) FROM questionnaire")
        .fetch_one(&app.db)
        .await
        .map_err(echec)?;
    let base = if grappe.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!(
        "base {base} prête en {:.1} s : {} participants, {questionnaires} questionnaires",
        t.elapsed().as_secs_f64(),
        args.participants
    );
    let cookie = session(&app, coordinateur).await?;
    let adresse = servir(&app).await?;
    let client = reqwest::Client::new();
    println!(
        "| chiffres de l'année 2025, {base} | p50 | p95 | max | en parcours | (opération de {} participants, {questionnaires} questionnaires) |",
        args.participants
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let requete = "periode=annee&annee=2025";
    for (nom, chemin) in [
        (
            "JSON",
            format!("/api/operations/{OPERATION}/chiffres?{requete}"),
        ),
        (
            "écran",
            format!("/operations/{OPERATION}/chiffres?{requete}"),
        ),
    ] {
        let (mut durees, page) = mesurer(
            &client,
            &format!("http://{adresse}{chemin}"),
            &cookie,
            args.requetes,
        )
        .await?;
        // What the page counted, to show it is the whole opération.
        let en_parcours = if nom == "JSON" {
            serde_json::from_str::<serde_json::Value>(&page).map_err(echec)?["en_parcours"]
                ["nombre"]
                .to_string()
        } else {
            let marque = "data-mesure=\"en-parcours\">";
            page.split_once(marque)
                .map(|(_, reste)| reste.chars().take_while(char::is_ascii_digit).collect())
                .unwrap_or_default()
        };
        let max = durees.iter().copied().fold(0.0, f64::max);
        println!(
            "| {nom} (`{chemin}`) | {:.1} ms | {:.1} ms | {max:.1} ms | {en_parcours} | |",
            centile(&mut durees, 0.5),
            centile(&mut durees, 0.95),
        );
    }
    Ok(())
}
