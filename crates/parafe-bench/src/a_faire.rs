//! `parafe-bench a-faire`: the « à faire » page of a référent with 100 participants and the
//! coordinateur's view of 13 référents (Dijon's size, seed 004), on a database of 10,000
//! participants with their interviews, workshops' absences and bilans; each page asked over
//! HTTP of the service's own router, in this process, with a staff session (p50 / p95).
//!
//! The history is written by SQL (as the other benches' rows): the page is measured, not the
//! signing that would make it. Target: p95 ≤ 150 ms for both pages.

use crate::commun::{
    centile, coordinateur, echec, importer, mesurer, runtime, service_du_jour, servir, session,
    CliError, CliResult,
};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Participants in the database (the 13 portfolios' active ones, the others exited
    /// more than a year ago).
    #[arg(long, default_value_t = 10_000)]
    pub participants: usize,
    /// Référents (13 at Dijon).
    #[arg(long, default_value_t = 13)]
    pub referents: usize,
    /// Active participants per référent.
    #[arg(long, default_value_t = 100)]
    pub portefeuille: usize,
    /// Requests per page measured (after 5 for warming up).
    #[arg(long, default_value_t = 200)]
    pub requetes: usize,
}

const AU: &str = "2025-06-18T08:00:00Z";

/// The parcours software's extraction: per référent, `portefeuille` active participants
/// entered over the last 20 months (every 7th on RSA), then exited ones, 2018-2024.
fn extraction(args: &BenchArgs) -> String {
    let mut csv = parafe::import::en_tete();
    csv.push('\n');
    let actifs = args.referents * args.portefeuille;
    let au = chrono::NaiveDate::from_ymd_opt(2025, 6, 18).unwrap_or_default();
    for i in 0..args.participants.max(actifs) {
        let r = i % args.referents;
        let (entree, rsa, cer, sortie, motif) = if i < actifs {
            let entree = au - chrono::TimeDelta::days(5 + (i as i64 * 37) % 600);
            let rsa = i % 7 == 0;
            let cer = if rsa {
                entree.format("%d/%m/%Y").to_string()
            } else {
                String::new()
            };
            (entree, rsa, cer, String::new(), "")
        } else {
            let entree = chrono::NaiveDate::from_ymd_opt(2018, 1, 1).unwrap_or_default()
                + chrono::TimeDelta::days((i as i64 * 13) % 2000);
            let sortie = (entree + chrono::TimeDelta::days(480))
                .format("%d/%m/%Y")
                .to_string();
            (entree, false, String::new(), sortie, "Emploi CDI")
        };
        csv.push_str(&format!(
            "B-{i:06};Madame;Nom{i};Camille;01/01/1980;;;21000;Dijon;21;referent{r}@plie.fr;Référent{r};R;202500417;France Travail;;{};{};{cer};{sortie};{motif}\n",
            entree.format("%d/%m/%Y"),
            if rsa { "Oui" } else { "Non" },
        ));
    }
    csv
}

/// Interviews every 9 to 30 days from entry to exit (or to the day), each signed by the
/// participant and the référent; one participant in five stopped coming two months ago; a fiche
/// de positionnement (étape) every 90 days; a workshop absence every 60 days, one in three
/// excused.
fn sql_histoire() -> Vec<String> {
    let jour = "date(p.date_entree, '+' || (n.k * (9 + p.id % 22)) || ' days')";
    let fin =
        "coalesce(p.date_sortie, CASE WHEN p.id % 5 = 0 THEN '2025-04-18' ELSE '2025-06-18' END)";
    vec![
        format!(
            "WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < 70)
             INSERT INTO document (plie, ref, workflow, modele, participant_id, etat, donnees, cree_le, modifie_le)
             SELECT p.plie, 'b-' || p.id || '-' || n.k, 'emargement-individuel', 'emargement-individuel', p.id,
                    'depose', '{{}}', {jour} || 'T08:30:00.000Z', {jour} || 'T08:30:00.000Z'
             FROM participant p, n WHERE {jour} <= {fin}"
        ),
        "INSERT INTO signataire (document_id, rang, role, nom, methode, participant_id, etat, signe_le)
         SELECT d.id, 0, 'participant', 'Camille', 'tablette', d.participant_id, 'signe', d.cree_le
         FROM document d WHERE d.workflow = 'emargement-individuel'"
            .into(),
        "INSERT INTO signataire (document_id, rang, role, nom, methode, etat, signe_le)
         SELECT d.id, 1, 'referent', 'Référent', 'tablette', 'signe', d.cree_le
         FROM document d WHERE d.workflow = 'emargement-individuel'"
            .into(),
        // What the service writes with each participant's signature.
        "INSERT INTO derniere_signature (participant_id, workflow, signe_le)
         SELECT s.participant_id, d.workflow, max(s.signe_le)
         FROM signataire s JOIN document d ON d.id = s.document_id
         WHERE s.participant_id IS NOT NULL GROUP BY s.participant_id, d.workflow"
            .into(),
        format!(
            "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 8)
             INSERT INTO document (plie, ref, workflow, modele, participant_id, etat, donnees, cree_le, modifie_le)
             SELECT p.plie, 'e-' || p.id || '-' || n.k, 'fiche-liaison-positionnement', 'fiche-liaison-positionnement',
                    p.id, 'depose', '{{}}', date(p.date_entree, '+' || (n.k * 90) || ' days') || 'T09:00:00.000Z',
                    date(p.date_entree, '+' || (n.k * 90) || ' days') || 'T09:00:00.000Z'
             FROM participant p, n WHERE date(p.date_entree, '+' || (n.k * 90) || ' days') <= {fin}"
        ),
        format!(
            "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 12)
             INSERT INTO absence (plie, participant_id, document_id, jour, excusee, note_le)
             SELECT p.plie, p.id, (SELECT min(id) FROM document) + n.k, date(p.date_entree, '+' || (n.k * 60) || ' days'),
                    n.k % 3 = 0, '2025-01-01T00:00:00.000Z'
             FROM participant p, n WHERE date(p.date_entree, '+' || (n.k * 60) || ' days') <= {fin}"
        ),
        "ANALYZE".into(),
    ]
}

pub fn bench(args: BenchArgs) -> CliResult {
    runtime()?.block_on(async move {
        let (_dossier, app) = service_du_jour(AU, None).await?;
        let plie = app.config.service.plie.clone();
        let t = Instant::now();
        importer(&app, &extraction(&args)).await?;
        let au_rsa = parafe::db::participants::au_rsa(&app.db, &plie)
            .await
            .map_err(echec)?;
        parafe::schedule::planifier(&app, &plie, &au_rsa, app.horloge.maintenant())
            .await
            .map_err(echec)?;
        for sql in sql_histoire() {
            sqlx::query(&sql).execute(&app.db).await.map_err(echec)?;
        }
        let (documents,): (i64,) = sqlx::query_as("SELECT count(*) FROM document")
            .fetch_one(&app.db)
            .await
            .map_err(echec)?;
        eprintln!(
            "base prête en {:.1} s : {} participants, {documents} documents",
            t.elapsed().as_secs_f64(),
            args.participants
        );

        // Sessions of a référent and of a coordinateur, then the router on a loopback port.
        let (referent,): (i64,) = sqlx::query_as(
            "SELECT id FROM personnel WHERE email = 'referent0@plie.fr'",
        )
        .fetch_one(&app.db)
        .await
        .map_err(echec)?;
        let coordinateur = coordinateur(&app).await?;
        let cookies = [
            session(&app, referent).await?,
            session(&app, coordinateur).await?,
        ];
        let adresse = servir(&app).await?;
        let client = reqwest::Client::new();
        println!(
            "| page | p50 | p95 | max | lignes ou référents | (base : {} participants, {documents} documents, {} référents de {} participants actifs) |",
            args.participants, args.referents, args.portefeuille
        );
        println!("| --- | --- | --- | --- | --- | --- |");
        for (nom, cookie, marque) in [
            ("« À faire » d'un référent", &cookies[0], "<tr data-participant="),
            ("portefeuilles des référents (coordinateur)", &cookies[1], "<tr data-referent="),
        ] {
            let (mut durees, page) =
                mesurer(&client, &format!("http://{adresse}/a-faire"), cookie, args.requetes)
                    .await?;
            let lignes = page.matches(marque).count();
            let max = durees.iter().copied().fold(0.0, f64::max);
            println!(
                "| {nom} | {:.1} ms | {:.1} ms | {max:.1} ms | {lignes} | |",
                centile(&mut durees, 0.5),
                centile(&mut durees, 0.95),
            );
        }
        Ok::<(), CliError>(())
    })
}
