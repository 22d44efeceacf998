//! Several instances behind a load balancer (`[grappe]`): one PostgreSQL, one S3 (moto), the
//! requests of one day spread over them. PostgreSQL pass only: a cluster refuses SQLite.

use crate::service::{
    base_postgres, confirmer_code, contrat_donnees, lien, participant_ref, signature, Plie,
    Reglages, Service,
};
use crate::store::{client, Moto, ACCESS, SECRET};
use crate::support::{parafe, text};
use reqwest::StatusCode;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// The cluster's configuration on `moto`: its bucket `grappe` (versioned, Object Lock) and
/// the first instance, « a ».
pub fn reglages_de_grappe(moto: &Moto) -> String {
    let endpoint = moto.endpoint();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(
        client(&endpoint, (ACCESS, SECRET))
            .create_bucket()
            .bucket("grappe")
            .object_lock_enabled_for_bucket(true)
            .send(),
    )
    .unwrap();
    format!(
        "[grappe]\ninstance = \"a\"\n\n[store]\nendpoint = \"{endpoint}\"\nbucket = \"grappe\"\naccess_key = \"{ACCESS}\"\nsecret_key = \"{SECRET}\"\n"
    )
}

/// Instance « a » with its PLIE set up, and its neighbours named `voisines`.
struct Grappe {
    _moto: Moto,
    plie: Plie,
    voisines: Vec<Service>,
}

/// Instance « a » of a cluster on `moto`, its PLIE set up.
pub fn plie_en_grappe(moto: &Moto) -> Plie {
    let toml = reglages_de_grappe(moto);
    // The development seal made once, then given to every instance (as a PKCS#12 would be).
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let init = parafe(&["init", "--data-dir", data.to_str().unwrap()]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    Plie::pret_dans(
        dir,
        &data,
        None,
        Reglages {
            toml,
            ..Reglages::default()
        },
    )
}

fn grappe(voisines: &[&str]) -> Grappe {
    let moto = Moto::start();
    let plie = plie_en_grappe(&moto);
    let voisines = voisines
        .iter()
        .map(|nom| {
            let data = plie.dir.path().join(format!("data-{nom}"));
            plie.service.instance_voisine(&data, nom)
        })
        .collect();
    Grappe {
        _moto: moto,
        plie,
        voisines,
    }
}

/// `parafe verify --store` from a data directory that has never served: the whole chain read
/// from the shared lines, written by every instance.
fn verifier_depuis_une_instance_neuve(service: &Service, data: &Path) -> String {
    service.configurer_voisine(data, "controle");
    let out = parafe(&["verify", "--store", "--data-dir", data.to_str().unwrap()]);
    let dit = text(&out.stdout) + &text(&out.stderr);
    assert!(out.status.success(), "verify --store : {dit}");
    dit
}

#[test]
fn trois_instances_une_base_un_compartiment_les_demandes_reparties() {
    if !base_postgres() {
        return;
    }
    let mut g = grappe(&["b", "c"]);
    let (a, b, c) = (&g.plie.service, &g.voisines[0], &g.voisines[1]);
    let (smtp, referent) = (&g.plie.smtp, &g.plie.referent);
    let coordinateur = &g.plie.coordinateur;
    let email = "samira.benali@exemple.fr";

    // A contract sent from « a », read and signed by link on « b » and « c », co-signed on « c ».
    let samira = participant_ref(a, referent, "Benali");
    let (reference, version) = a.creer_et_envoyer(
        referent,
        &json!({
            "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees(),
            "signataires": [{ "role": "participant", "methode": "lien" }],
        }),
    );
    let jeton = lien(&smtp.attendre(email, "/signer/"));
    confirmer_code(b, smtp, email, &jeton);
    let pdf = c
        .client
        .get(format!("{}/api/signature/{jeton}/pdf", c.url))
        .send()
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    b.ok(
        "POST",
        &format!("/api/signature/{jeton}"),
        "",
        Some(&signature(&version)),
    );
    let (status, v) = c.signer_en_presence(referent, &reference, &version, 1);
    assert_eq!(status, StatusCode::OK, "{v}");
    let delivre = b.attendre_etat(referent, &reference, "delivre");
    let recus = smtp.recus(email, "");
    assert_eq!(
        recus.len(),
        3,
        "invitation, code, contrat scellé : {recus:#?} {delivre}"
    );

    // A workshop sheet opened on the tablet through « a »; its signatures reach « b » and
    // « c » (the load balancer's choice), its closing « a » again.
    let karim = participant_ref(a, referent, "Durand");
    let tablette = a.connecter(smtp, "t.garnier@plie.fr");
    let f = tablette.ouvrir_atelier("Atelier CV", "2025-10-15", &[&samira, &karim]);
    for (instance, cle, qui) in [(b, "samira", "Samira BENALI"), (c, "karim", "Karim DURAND")] {
        let (status, v) =
            tablette
                .sur(instance)
                .signer(&f, cle, json!({ "signataire": f.id(qui) }));
        assert_eq!(status, StatusCode::OK, "{qui} : {v}");
    }
    // The same signature sent again to another instance: answered once, not signed twice.
    let (status, v) =
        tablette
            .sur(a)
            .signer(&f, "karim", json!({ "signataire": f.id("Karim DURAND") }));
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = tablette.cloturer(&f, "cloture", signature(&f.version));
    assert_eq!(status, StatusCode::OK, "{v}");
    let feuille = c.attendre_etat(referent, &f.document, "depose");
    assert_eq!(
        feuille["signataires"].as_array().unwrap().len(),
        3,
        "{feuille}"
    );

    // A pack made by « b », downloaded from « c » and « a »: the same bytes.
    let demande = json!({ "operation": "202500417", "du": "2025-01-01", "au": "2026-12-31" });
    let v = b.ok("POST", "/api/exports", coordinateur, Some(&demande));
    let pack = v["ref"].as_str().unwrap().to_owned();
    c.attendre_pack(coordinateur, &pack);
    let zip = c.telecharger_pack(coordinateur, &pack);
    assert!(zip.starts_with(b"PK"));
    assert_eq!(a.telecharger_pack(coordinateur, &pack), zip);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let noms: Vec<String> = archive.file_names().map(str::to_owned).collect();
    for piece in ["-contrat-engagement.pdf", "emargements-collectifs/"] {
        assert!(
            noms.iter().any(|n| n.contains(piece)),
            "{piece} absent du pack : {noms:?}"
        );
    }
    let mut index = String::new();
    std::io::Read::read_to_string(
        &mut archive
            .by_name(
                noms.iter()
                    .find(|n| n.ends_with(".jsonl") && n.starts_with("journal/"))
                    .expect("extrait du journal"),
            )
            .unwrap(),
        &mut index,
    )
    .unwrap();
    assert!(index.lines().count() > 10, "{index}");

    // One chain for the PLIE, whoever wrote: proved from a data directory that never served.
    let dit = verifier_depuis_une_instance_neuve(a, &g.plie.dir.path().join("data-controle"));
    let lignes = crate::service::sql(a, "SELECT count(*) FROM journal_ligne");
    assert!(
        dit.contains("1 chaîne(s)") && dit.contains(&format!("{} entrée(s)", lignes.trim())),
        "{lignes} : {dit}"
    );
    assert!(dit.contains("coffre intègre"), "{dit}");

    // A line in « b »'s replica that was never published (written, then the instance killed
    // before the database took it): at its next start the replica follows the shared lines,
    // and the stray file is set aside, not deleted.
    let mut b = g.voisines.remove(0);
    b.tuer();
    let segment = crate::service::segments_du_journal(&b.data)
        .pop()
        .expect("une réplique du journal sur « b »");
    let mut lignes = std::fs::read_to_string(&segment).unwrap();
    let derniere = lignes.lines().last().unwrap().to_owned();
    lignes.push_str(&derniere.replacen("\"seq\":", "\"seq\":1", 1));
    lignes.push('\n');
    std::fs::write(&segment, &lignes).unwrap();
    b.redemarrer();
    let ecartes: Vec<_> = std::fs::read_dir(segment.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("ecarte-"))
        .collect();
    assert_eq!(ecartes.len(), 1, "{ecartes:?}");
    assert_ne!(std::fs::read_to_string(&segment).unwrap(), lignes);
    let out = parafe(&["verify", "--store", "--data-dir", b.data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}

/// The first line of `verify --store`: chains, entries, anchors and objects counted.
fn decompte(dit: &str) -> String {
    dit.lines()
        .find(|l| l.contains("chaîne(s)"))
        .and_then(|l| l.split(" relus").next())
        .unwrap_or_else(|| panic!("pas de décompte : {dit}"))
        .to_owned()
}

#[test]
fn une_installation_embarquee_migre_en_grappe_sans_rien_perdre() {
    if base_postgres() {
        // The migration starts from SQLite and the embedded store: the SQLite pass covers it.
        return;
    }
    let Plie {
        dir,
        smtp,
        mut service,
        referent,
        ..
    } = Plie::pret(None);
    let email = "samira.benali@exemple.fr";
    // Evidence of every kind: a contract signed and delivered, one waiting for its signature by
    // link (its version only in the data directory), a workshop sheet closed.
    let samira = participant_ref(&service, &referent, "Benali");
    let karim = participant_ref(&service, &referent, "Durand");
    let contrat = |methode: &str| {
        json!({
            "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees(),
            "signataires": [{ "role": "participant", "methode": methode }],
        })
    };
    let (signe, version) = service.creer_et_envoyer(&referent, &contrat("tablette"));
    for rang in [0, 1] {
        let (status, v) = service.signer_en_presence(&referent, &signe, &version, rang);
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let (en_attente, version_en_attente) = service.creer_et_envoyer(&referent, &contrat("lien"));
    let jeton = lien(&smtp.attendre(email, "/signer/"));
    let tablette = service.connecter(&smtp, "t.garnier@plie.fr");
    let f = tablette.ouvrir_atelier("Atelier CV", "2025-10-15", &[&samira, &karim]);
    for (cle, qui) in [("s", "Samira BENALI"), ("k", "Karim DURAND")] {
        let (status, v) = tablette.signer(&f, cle, json!({ "signataire": f.id(qui) }));
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let (status, v) = tablette.cloturer(&f, "cloture", signature(&f.version));
    assert_eq!(status, StatusCode::OK, "{v}");
    service.attendre_etat(&referent, &f.document, "depose");
    service.attendre_etat(&referent, &signe, "delivre");
    service.attendre_outbox_vide(&referent);
    let vues = |s: &Service| {
        [
            format!("/api/documents/{signe}"),
            format!("/api/documents/{en_attente}"),
            format!("/api/documents/{}", f.document),
            format!("/api/participants/{samira}"),
        ]
        .map(|chemin| s.ok("GET", &chemin, &referent, None))
    };
    let avant = vues(&service);
    let data = service.data.to_string_lossy().into_owned();
    let out = parafe(&["verify", "--store", "--data-dir", &data]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let decompte_avant = decompte(&text(&out.stdout));
    service.tuer();

    // The cluster's parts: a new database, a bucket with Object Lock; the command moves all.
    let moto = Moto::start();
    let grappe_a = dir.path().join("grappe-a");
    let url = crate::service::base_du_dossier(&grappe_a);
    let toml = format!("{}\n[base]\nurl = \"{url}\"\n", reglages_de_grappe(&moto));
    let migrer = |vers: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_parafe"))
            .args(["base", "migrer", "--data-dir", &data, "--vers", vers])
            .args(["--s3", &moto.endpoint(), "--compartiment", "grappe"])
            .env("AWS_ACCESS_KEY_ID", ACCESS)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .output()
            .unwrap()
    };
    let out = migrer(&url);
    let dit = text(&out.stdout) + &text(&out.stderr);
    assert!(out.status.success(), "{dit}");
    assert!(dit.contains("migration faite"), "{dit}");
    // A second run finds the database no longer empty and stops before touching anything.
    let encore = migrer(&url);
    assert_eq!(encore.status.code(), Some(1), "{}", text(&encore.stdout));
    assert!(text(&encore.stderr).contains("n'est pas vide"));

    // Instance « a », on a machine that never had the embedded installation: the same keys,
    // the new configuration. Before it serves, the command line proves the same chains.
    std::fs::create_dir_all(grappe_a.join("cles")).unwrap();
    for cle in std::fs::read_dir(service.data.join("cles")).unwrap() {
        let cle = cle.unwrap();
        std::fs::copy(cle.path(), grappe_a.join("cles").join(cle.file_name())).unwrap();
    }
    let a = Service::lancer(
        &grappe_a,
        Reglages {
            smtp: Some(smtp.port),
            toml,
            ..Reglages::default()
        },
    );
    let controle = verifier_depuis_une_instance_neuve(&a, &dir.path().join("controle"));
    assert_eq!(decompte(&controle), decompte_avant, "{controle}");
    assert_eq!(vues(&a), avant);

    // The waiting contract is signed on « b »: its version read from the bucket.
    let b = a.instance_voisine(&dir.path().join("grappe-b"), "b");
    confirmer_code(&b, &smtp, email, &jeton);
    b.ok(
        "POST",
        &format!("/api/signature/{jeton}"),
        "",
        Some(&signature(&version_en_attente)),
    );
    let (status, v) = b.signer_en_presence(&referent, &en_attente, &version_en_attente, 1);
    assert_eq!(status, StatusCode::OK, "{v}");
    a.attendre_etat(&referent, &en_attente, "delivre");
    verifier_depuis_une_instance_neuve(&a, &dir.path().join("controle-apres"));
}

#[test]
fn une_instance_tuee_en_plein_scellement_perd_son_disque_les_autres_finissent() {
    if !base_postgres() {
        return;
    }
    let mut g = grappe(&["b", "c"]);
    let referent = g.plie.referent.clone();
    let samira = participant_ref(&g.plie.service, &referent, "Benali");
    const LOT: usize = 50;
    fn instances(g: &Grappe, i: usize) -> &Service {
        match i % 3 {
            0 => &g.plie.service,
            n => &g.voisines[n - 1],
        }
    }
    let mut references = Vec::new();
    for i in 0..LOT {
        let service = instances(&g, i);
        let (reference, version) = service.creer_et_envoyer(
            &referent,
            &json!({
                "workflow": "contrat-engagement", "participant": samira,
                "donnees": contrat_donnees(),
            }),
        );
        let (status, v) = service.signer_en_presence(&referent, &reference, &version, 0);
        assert_eq!(status, StatusCode::OK, "{v}");
        references.push((reference, version));
    }
    // The last signatures, spread over the three; then « a » is killed while the cluster seals
    // and mails, and its disk is lost.
    for (i, (reference, version)) in references.iter().enumerate() {
        let (status, v) = instances(&g, i + 1).signer_en_presence(&referent, reference, version, 1);
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let scelles = |g: &Grappe| {
        g.plie
            .smtp
            .courriels()
            .iter()
            .filter(|m| m.contains("signé et scellé"))
            .count()
    };
    let debut = Instant::now();
    while scelles(&g) < 3 && debut.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    g.plie.service.tuer();
    std::fs::remove_dir_all(&g.plie.service.data).unwrap();
    let avant = scelles(&g);
    assert!(
        avant < 2 * LOT,
        "l'arrêt doit tomber au milieu du lot ({avant} remises déjà faites)"
    );

    // « b » and « c » finish, « a »'s tasks included once its leases have run out.
    let b = &g.voisines[0];
    let debut = Instant::now();
    for (reference, _) in &references {
        loop {
            let v = b.ok(
                "GET",
                &format!("/api/documents/{reference}"),
                &referent,
                None,
            );
            if v["document"]["etat"] == "delivre" {
                break;
            }
            assert!(debut.elapsed() < Duration::from_secs(240), "{v}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    g.voisines[1].attendre_outbox_vide(&referent);
    let controle = g.plie.dir.path().join("controle");
    verifier_depuis_une_instance_neuve(&g.voisines[1], &controle);
    crate::service::verifier_les_remises(
        &g.plie.smtp,
        &crate::service::journal(&controle),
        &references,
    );
}

#[test]
fn une_grappe_sans_base_ni_s3_ni_smtp_partages_est_refusee_au_demarrage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("parafe.toml"), "[grappe]\ninstance = \"a\"\n").unwrap();
    let out = parafe(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let dit = text(&out.stderr);
    assert!(!out.status.success(), "{dit}");
    for manque in ["[base] url", "[store] endpoint", "[courriel] smtp"] {
        assert!(dit.contains(manque), "{manque} ? {dit}");
    }
    // Nothing was started nor written: no database, no journal, no keys.
    let crees: Vec<_> = std::fs::read_dir(&data).unwrap().flatten().collect();
    assert_eq!(crees.len(), 1, "{crees:?}");
    // Complete but without a seal of its own: no key made for this instance alone.
    let moto = Moto::start();
    let url = if base_postgres() {
        crate::service::base_du_dossier(&dir.path().join("sans-cachet"))
    } else {
        "postgres://127.0.0.1:1/absente".into()
    };
    std::fs::write(
        data.join("parafe.toml"),
        format!(
            "{}\n[base]\nurl = \"{url}\"\n\n[courriel]\nsmtp = \"127.0.0.1:25\"\n",
            reglages_de_grappe(&moto)
        ),
    )
    .unwrap();
    let out = parafe(&["serve", "--data-dir", data.to_str().unwrap()]);
    let dit = text(&out.stderr);
    assert!(!out.status.success(), "{dit}");
    assert!(dit.contains("[seal] pkcs12"), "{dit}");
    assert!(!data.join("cles").exists());
    // A name that a log line or a lease could not carry as such.
    std::fs::write(data.join("parafe.toml"), "[grappe]\ninstance = \"a b\"\n").unwrap();
    let out = parafe(&["serve", "--data-dir", data.to_str().unwrap()]);
    assert!(
        text(&out.stderr).contains("[grappe] instance « a b »"),
        "{}",
        text(&out.stderr)
    );
}

/// Issue 20: the import's preview made through one instance is confirmed through another (the
/// load balancer has no session affinity): the text waits in the database, not on a disk.
#[test]
fn l_apercu_d_un_import_fait_sur_une_instance_se_confirme_sur_une_autre() {
    if !base_postgres() {
        return;
    }
    let g = grappe(&["b"]);
    let (a, b) = (&g.plie.service, &g.voisines[0]);
    let coordination = a.connecter(&g.plie.smtp, "coord@plie.fr");
    let extraction = format!(
        "{}\nG-2025-0001;Madame;Grappe;Alix;01/02/1990;;;34400;Lunel;34;t.garnier@plie.fr;Garnier;Thomas;202500417;France Travail Lunel;;02/06/2025;Non;;;\n",
        crate::service::EXTRACTION.lines().next().unwrap()
    );
    let (status, page) = coordination.depot(
        "/participants/import",
        ("extraction.csv", extraction.as_bytes()),
    );
    assert_eq!(status, StatusCode::OK, "{page}");
    let debut = page.find("name=\"sha256\" value=\"").unwrap() + "name=\"sha256\" value=\"".len();
    let sha256 = &page[debut..debut + 64];
    let (status, page) = coordination
        .sur(b)
        .formulaire("/participants/import/confirmation", &[("sha256", sha256)]);
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("1 participant importé"), "{page}");
    assert!(!participant_ref(b, &g.plie.referent, "Grappe").is_empty());
    // Served: confirmed again through the first instance, it is refused.
    let (status, page) =
        coordination.formulaire("/participants/import/confirmation", &[("sha256", sha256)]);
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
}
