//! The outbox tells a permanent failure from a transient one: an e-mail the SMTP server refuses
//! for good (550) is tried once, given up with its reason, and shown to staff (`/api/sante`,
//! the document's API view and page); an SMTP server that is down is tried again until it is
//! back. Several instances on one database share the outbox by leases: each task runs on one
//! at a time, a dead instance's tasks are taken over, and its late completions are refused.

use crate::service::{
    alterer_la_base, base_du_dossier, base_postgres, contrat_donnees, participant_ref, sql, Plie,
    Reglages, Service, Smtp,
};
use crate::support::text;
use chrono::{DateTime, TimeDelta, Utc};
use parafe::db::{grappe, outbox as table, Pool};
use parafe::outbox::Genre;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// A contract for Samira Benali to sign by link at `email`, sent: its reference.
fn contrat_envoye(service: &Service, referent: &str, email: &str) -> String {
    let samira = participant_ref(service, referent, "Benali");
    let cree = service.ok(
        "POST",
        "/api/documents",
        referent,
        Some(&json!({
            "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees(),
            "signataires": [{ "role": "participant", "methode": "lien", "email": email }],
        })),
    );
    let reference = cree["document"]["ref"].as_str().unwrap().to_owned();
    service.ok(
        "POST",
        &format!("/api/documents/{reference}/envoi"),
        referent,
        None,
    );
    reference
}

/// Waits until `pret` holds for the document's API view; that view.
fn attendre_vue(
    service: &Service,
    jeton: &str,
    reference: &str,
    pret: impl Fn(&Value) -> bool,
) -> Value {
    let debut = Instant::now();
    loop {
        let v = service.ok("GET", &format!("/api/documents/{reference}"), jeton, None);
        if pret(&v) {
            return v;
        }
        assert!(debut.elapsed() < Duration::from_secs(60), "{v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn courriel_refuse_pour_de_bon_tente_une_fois_et_montre_au_personnel() {
    let Plie {
        dir: _dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let reference = contrat_envoye(&service, &referent, "refuse.samira@exemple.fr");

    let vue = attendre_vue(&service, &referent, &reference, |v| {
        v["echecs"].as_array().is_some_and(|e| !e.is_empty())
    });
    let echec = &vue["echecs"][0];
    assert_eq!(echec["genre"], "courriel", "{vue}");
    assert!(
        echec["raison"].as_str().unwrap().contains("550"),
        "la raison donne la réponse du serveur : {vue}"
    );
    // Past several of the delays a transient failure would be retried after (2 s, 4 s…),
    // the refused address was tried once.
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(smtp.refus(), vec!["refuse.samira@exemple.fr".to_owned()]);
    let sante = service.ok("GET", "/api/sante", "", None);
    assert_eq!(sante["outbox"]["abandons"], 1, "{sante}");
    assert_eq!(sante["outbox"]["en_attente"], 0, "{sante}");

    // The document's page says it, in French, with the reason.
    let nav = service.connecter(&smtp, "t.garnier@plie.fr");
    let (status, page) = nav.get(&format!("/documents/{reference}"));
    assert!(status.is_success(), "{status}");
    assert!(
        page.contains("L'envoi d'un courriel pour ce document a échoué définitivement")
            && page.contains("ne sera plus réessayé")
            && page.contains("550"),
        "{page}"
    );
}

#[test]
fn serveur_smtp_arrete_reessaye_jusqu_a_son_retour() {
    let Plie {
        dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let port = smtp.port;
    drop(smtp);
    let reference = contrat_envoye(&service, &referent, "samira.benali@exemple.fr");

    // Refused connections: the invitation waits, tried again, never given up.
    let debut = Instant::now();
    loop {
        let sante = service.ok("GET", "/api/sante", "", None);
        if sante["outbox"]["en_echec"].as_i64().unwrap() > 0 {
            assert_eq!(sante["outbox"]["abandons"], 0, "{sante}");
            break;
        }
        assert!(debut.elapsed() < Duration::from_secs(60), "{sante}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let vue = service.ok(
        "GET",
        &format!("/api/documents/{reference}"),
        &referent,
        None,
    );
    assert_eq!(vue["echecs"], json!([]), "{vue}");

    // The server back on its port: the next attempt delivers the invitation.
    let smtp = Smtp::start_sur(&dir.path().join("smtp"), port);
    let invitation = smtp.attendre("samira.benali@exemple.fr", "/signer/");
    assert!(invitation.contains("à signer"), "{invitation}");
    service.attendre_outbox_vide(&referent);
    let sante = service.ok("GET", "/api/sante", "", None);
    assert_eq!(sante["outbox"]["abandons"], 0, "{sante}");
}

/// A task whose payload no longer reads (altered by hand) would fail the same way at every
/// attempt: it is given up with the reason, not left waiting for ever.
#[test]
fn tache_a_la_charge_illisible_abandonnee_avec_sa_raison() {
    let Plie {
        dir: _dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    drop(smtp);
    contrat_envoye(&service, &referent, "samira.benali@exemple.fr");
    // The invitation waits for the SMTP server.
    let debut = Instant::now();
    while service.ok("GET", "/api/sante", "", None)["outbox"]["en_echec"] == 0 {
        assert!(debut.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(100));
    }
    alterer_la_base(
        &service,
        "UPDATE outbox SET charge = '{\"document\": tronqu' WHERE etat = 'attente' AND genre = 'courriel';",
    );
    let debut = Instant::now();
    loop {
        let sante = service.ok("GET", "/api/sante", "", None);
        // Other tasks of the sending (its journal entry) may still be on their way.
        if sante["outbox"]["abandons"] != 0 && sante["outbox"]["en_attente"] == 0 {
            assert_eq!(sante["outbox"]["abandons"], 1, "{sante}");
            break;
        }
        assert!(debut.elapsed() < Duration::from_secs(30), "{sante}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let raison = sql(
        &service,
        "SELECT derniere_erreur FROM outbox WHERE etat = 'abandon'",
    );
    assert!(raison.contains("charge de la tâche illisible"), "{raison}");
}

/// The database of a test at the database's level: SQLite in `dossier`, or a new PostgreSQL one
/// on the PostgreSQL pass.
async fn base_d_essai(dossier: &Path) -> Pool {
    let base = parafe::db::BaseConfig {
        url: base_postgres().then(|| base_du_dossier(dossier)),
        ..Default::default()
    };
    parafe::db::open(&base, dossier).await.unwrap()
}

/// Queues `n` tasks of this kind, due at `le`; their ids.
async fn taches(db: &Pool, n: usize, genre: Genre, le: DateTime<Utc>) -> Vec<i64> {
    let mut tx = db.begin().await.unwrap();
    for i in 0..n {
        let cle = format!("essai:{}:{i}", parafe::db::nouvelle_ref("t"));
        table::ajouter(&mut tx, &cle, genre, "plie-test", &json!({ "rang": i }), le)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query_scalar("SELECT id FROM outbox WHERE etat = 'attente' ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap()
}

fn dans(t: DateTime<Utc>, secondes: i64) -> DateTime<Utc> {
    t + TimeDelta::seconds(secondes)
}

/// Two instances taking tasks at the same time on one database each get their own: every task
/// is taken once, by one of them, whose lease the row names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deux_instances_prennent_chacune_leurs_taches() {
    let dossier = tempfile::tempdir().unwrap();
    let db = base_d_essai(dossier.path()).await;
    let t0 = Utc::now();
    let toutes = taches(&db, 300, Genre::Journal, t0).await;
    assert_eq!(toutes.len(), 300);
    let depart = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let prendre_tout = |instance: &'static str| {
        let (db, depart) = (db.clone(), depart.clone());
        tokio::spawn(async move {
            depart.wait().await;
            let mut pris = Vec::new();
            loop {
                let lot = table::prendre(
                    &db,
                    instance,
                    dans(t0, 1),
                    dans(t0, 60),
                    &[Genre::Journal],
                    4,
                    true,
                )
                .await
                .unwrap();
                if lot.is_empty() {
                    return pris;
                }
                assert!(lot.iter().all(|t| !t.interrompue));
                pris.extend(lot.into_iter().map(|t| t.id));
                // The other's turn to take some, in the middle of this one's.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let (a, b) = (prendre_tout("a"), prendre_tout("b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let (ea, eb): (HashSet<i64>, HashSet<i64>) =
        (a.iter().copied().collect(), b.iter().copied().collect());
    assert_eq!(ea.len(), a.len(), "a a pris une tâche deux fois");
    assert_eq!(eb.len(), b.len(), "b a pris une tâche deux fois");
    assert!(ea.is_disjoint(&eb), "{:?}", ea.intersection(&eb));
    assert_eq!(a.len() + b.len(), 300, "{} + {}", a.len(), b.len());
    assert!(!a.is_empty() && !b.is_empty(), "{} + {}", a.len(), b.len());
    // The rows name their holder.
    for (instance, ids) in [("a", &ea), ("b", &eb)] {
        let tenues: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM outbox WHERE bail_instance = $1 ORDER BY id")
                .bind(instance)
                .fetch_all(&db)
                .await
                .unwrap();
        assert_eq!(tenues.iter().copied().collect::<HashSet<_>>(), *ids);
    }
    // Leased, nothing is left to take until the leases expire; then the oldest come first.
    let rien = table::prendre(
        &db,
        "c",
        dans(t0, 59),
        dans(t0, 120),
        &[Genre::Journal],
        10,
        true,
    );
    assert!(rien.await.unwrap().is_empty());
    let repris = table::prendre(
        &db,
        "c",
        dans(t0, 61),
        dans(t0, 120),
        &[Genre::Journal],
        10,
        true,
    )
    .await
    .unwrap();
    let ids: Vec<i64> = repris.iter().map(|t| t.id).collect();
    assert_eq!(ids, toutes[..10], "dans l'ordre de la file");
    assert!(
        repris.iter().all(|t| t.interrompue),
        "commencées par a ou b"
    );
}

/// An instance that dies holding a task: its lease, no longer renewed, expires; another
/// instance takes the task over, marked interrupted (its e-mail may have left: it goes again
/// flagged as a resend). The dead one's late completion, postponement or abandon change
/// nothing: the new holder records the task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn une_instance_morte_perd_ses_taches_et_ne_peut_plus_les_clore() {
    let dossier = tempfile::tempdir().unwrap();
    let db = base_d_essai(dossier.path()).await;
    let t0 = Utc::now();
    let ids = taches(&db, 1, Genre::Courriel, t0).await;
    let courriel = &[Genre::Courriel];
    let prise = table::prendre(&db, "morte", t0, dans(t0, 60), courriel, 10, true)
        .await
        .unwrap();
    assert_eq!(prise.len(), 1);
    assert!(!prise[0].interrompue, "première prise");
    // Renewed while it runs: not taken past its first term.
    table::renouveler(&db, "morte", &ids, dans(t0, 110))
        .await
        .unwrap();
    for t in [30, 70, 109] {
        let rien = table::prendre(
            &db,
            "vivante",
            dans(t0, t),
            dans(t0, t + 60),
            courriel,
            10,
            true,
        );
        assert!(rien.await.unwrap().is_empty(), "à t0 + {t} s");
    }
    // No more renewals: the lease expires, another instance takes the task over.
    let reprise = table::prendre(
        &db,
        "vivante",
        dans(t0, 111),
        dans(t0, 171),
        courriel,
        10,
        true,
    )
    .await
    .unwrap();
    assert_eq!(reprise.len(), 1);
    assert_eq!(reprise[0].id, ids[0]);
    assert!(reprise[0].interrompue, "son envoi avait commencé : renvoi");

    // The zombie wakes up: nothing it writes counts any more.
    let mut tx = db.begin().await.unwrap();
    let marquees = table::terminer(
        &mut tx,
        "morte",
        &[(ids[0], json!({ "zombie": true }))],
        dans(t0, 112),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(
        marquees.is_empty(),
        "achèvement d'une instance qui a perdu le bail"
    );
    table::reporter(&db, "morte", &prise[0], "panne", dans(t0, 200))
        .await
        .unwrap();
    table::abandonner(&db, "morte", &prise[0], "abandon", dans(t0, 112))
        .await
        .unwrap();
    table::renouveler(&db, "morte", &ids, dans(t0, 500))
        .await
        .unwrap();
    let ligne: (String, i64, String, String) = sqlx::query_as(
        "SELECT etat, essais, bail_instance, bail_jusqu_a FROM outbox WHERE id = $1",
    )
    .bind(ids[0])
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        ligne,
        (
            "attente".into(),
            0,
            "vivante".into(),
            parafe::db::instant(dans(t0, 171))
        )
    );
    // The holder records it.
    let mut tx = db.begin().await.unwrap();
    let marquees = table::terminer(
        &mut tx,
        "vivante",
        &[(ids[0], json!({ "envoye": true }))],
        dans(t0, 113),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(marquees, HashSet::from([ids[0]]));
    let etat: String = sqlx::query_scalar("SELECT etat FROM outbox WHERE id = $1")
        .bind(ids[0])
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(etat, "fait");
}

/// An instance started again after a crash takes its name's tasks back at once, without
/// waiting for their leases to expire; begun ones come back interrupted. A postponed task is
/// free again (no lease) when its next attempt comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn une_instance_relancee_reprend_ses_taches_sans_attendre() {
    let dossier = tempfile::tempdir().unwrap();
    let db = base_d_essai(dossier.path()).await;
    let t0 = Utc::now();
    let ids = taches(&db, 2, Genre::Courriel, t0).await;
    let courriel = &[Genre::Courriel];
    let prises = table::prendre(&db, "seule", t0, dans(t0, 60), courriel, 10, true)
        .await
        .unwrap();
    assert_eq!(prises.len(), 2);
    // One fails and is put off: its lease ends with the attempt.
    table::reporter(&db, "seule", &prises[1], "serveur absent", dans(t0, 5))
        .await
        .unwrap();
    // Crash, restart: the previous life's leases are given back.
    assert_eq!(table::liberer_les_miens(&db, "seule").await.unwrap(), 1);
    let reprises = table::prendre(&db, "seule", dans(t0, 1), dans(t0, 61), courriel, 10, true)
        .await
        .unwrap();
    assert_eq!(reprises.iter().map(|t| t.id).collect::<Vec<_>>(), ids[..1]);
    assert!(reprises[0].interrompue);
    let apres = table::prendre(&db, "autre", dans(t0, 6), dans(t0, 66), courriel, 10, true)
        .await
        .unwrap();
    assert_eq!(apres.iter().map(|t| t.id).collect::<Vec<_>>(), ids[1..]);
    assert!(
        !apres[0].interrompue,
        "l'échec SMTP n'est pas un envoi en doute"
    );
    assert_eq!(apres[0].essais, 1);
}

/// A periodic job runs on one instance a period: its holder keeps it from one period to the
/// next; another takes it only once the holder's lease has expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn une_veille_est_faite_par_une_seule_instance_a_chaque_periode() {
    let dossier = tempfile::tempdir().unwrap();
    let db = base_d_essai(dossier.path()).await;
    let t0 = Utc::now();
    let veille = |instance: &'static str, t: i64| {
        let db = db.clone();
        async move {
            grappe::prendre_veille(&db, "echeancier", instance, dans(t0, t), dans(t0, t + 60))
                .await
                .unwrap()
        }
    };
    assert!(veille("a", 0).await);
    assert!(!veille("b", 30).await, "a la tient pour la période");
    assert!(veille("a", 60).await, "a la garde");
    assert!(!veille("b", 90).await);
    assert!(!veille("b", 119).await);
    // a stopped: b takes it once a's lease has run out.
    assert!(veille("b", 121).await);
    assert!(!veille("a", 150).await, "b la tient désormais");
    // Another job has its own lease.
    assert!(
        grappe::prendre_veille(&db, "ancrage", "a", dans(t0, 150), dans(t0, 210))
            .await
            .unwrap()
    );
}

/// On PostgreSQL, a second `parafe serve` without `[grappe]` on the database of a running one is
/// refused, naming the other and what to declare; once the first is killed, its restart is
/// not refused (the name's lock went with the dead process).
#[test]
fn une_seconde_instance_sans_grappe_est_refusee() {
    if !base_postgres() {
        // The registry is PostgreSQL's: one SQLite file serves one machine.
        return;
    }
    let dossier = tempfile::tempdir().unwrap();
    let mut premiere = Service::lancer(&dossier.path().join("une"), Reglages::default());
    let url = premiere.url_de_la_base().unwrap().to_owned();
    let seconde = dossier.path().join("deux");
    std::fs::create_dir_all(&seconde).unwrap();
    std::fs::write(
        seconde.join("parafe.toml"),
        format!("[service]\nplie = \"plie-test\"\n\n[base]\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let refus = servir_sans_attendre(&seconde);
    assert!(!refus.status.success());
    let dit = text(&refus.stderr);
    assert!(
        dit.contains("une autre instance de parafe, « seule »")
            && dit.contains(&format!("processus {}", premiere.pid()))
            && dit.contains("[grappe] instance"),
        "{dit}"
    );
    // Killed outright, the first starts again at once.
    premiere.redemarrer();
    let sante = premiere.ok("GET", "/api/sante", "", None);
    assert!(sante.get("outbox").is_some(), "{sante}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let maintenant = Utc::now();
        // Nor may a cluster grow beside an instance alone.
        let grappe = grappe::Inscription::prendre(&url, "a", true, maintenant).await;
        let refus = grappe.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            refus.contains("une instance seule de parafe (sans [grappe])"),
            "{refus}"
        );
        // On a database of its own, two instances declared under one name: the second is
        // refused; another name is welcome; an instance alone is not.
        let autre = tempfile::tempdir().unwrap();
        let base = parafe::db::BaseConfig {
            url: Some(base_du_dossier(autre.path())),
            ..Default::default()
        };
        parafe::db::open(&base, autre.path()).await.unwrap();
        let url = base.url.unwrap();
        let a = grappe::Inscription::prendre(&url, "a", true, maintenant).await;
        assert!(a.is_ok(), "{:?}", a.err());
        // In a cluster, a live instance's name is held by its exports' presence lock.
        let mut presence = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query("SELECT pg_advisory_lock(hashtextextended('instance:a', 0))")
            .execute(&mut presence)
            .await
            .unwrap();
        let encore = grappe::Inscription::prendre(&url, "a", true, maintenant).await;
        let refus = encore.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refus.contains("nommée « a » tourne déjà"), "{refus}");
        let b = grappe::Inscription::prendre(&url, "b", true, maintenant).await;
        assert!(b.is_ok(), "{:?}", b.err());
        let seule = grappe::Inscription::prendre(&url, grappe::SEULE, false, maintenant).await;
        let refus = seule.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            refus.contains("une autre instance de parafe, « "),
            "{refus}"
        );
    });
}

/// `parafe serve` in `data`, expected to stop by itself (a refusal at start): its output.
fn servir_sans_attendre(data: &Path) -> std::process::Output {
    let mut enfant = std::process::Command::new(env!("CARGO_BIN_EXE_parafe"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .current_dir(data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let debut = Instant::now();
    while enfant.try_wait().unwrap().is_none() {
        if debut.elapsed() > Duration::from_secs(60) {
            enfant.kill().unwrap();
            let sortie = enfant.wait_with_output().unwrap();
            panic!("la seconde instance tourne : {}", text(&sortie.stdout));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    enfant.wait_with_output().unwrap()
}
