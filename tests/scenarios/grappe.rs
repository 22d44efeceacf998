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

fn grappe(voisines: &[&str]) -> Grappe {
    let moto = Moto::start();
    let toml = reglages_de_grappe(&moto);
    let plie = Plie::pret_avec(
        None,
        Reglages {
            toml,
            ..Reglages::default()
        },
    );
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

fn attendre_pack(service: &Service, jeton: &str, pack: &str) {
    let debut = Instant::now();
    loop {
        let v = service.ok("GET", &format!("/api/exports/{pack}"), jeton, None);
        if v["etat"] == "fini" {
            return;
        }
        assert_ne!(v["etat"], "echec", "{v}");
        assert!(debut.elapsed() < Duration::from_secs(120), "{v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn telecharger(service: &Service, jeton: &str, pack: &str) -> Vec<u8> {
    let r = service
        .client
        .get(format!("{}/api/exports/{pack}/zip", service.url))
        .bearer_auth(jeton)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().unwrap().to_vec()
}

#[test]
fn trois_instances_une_base_un_compartiment_les_demandes_reparties() {
    if !base_postgres() {
        return;
    }
    let g = grappe(&["b", "c"]);
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
    c.ok(
        "POST",
        &format!("/api/documents/{reference}/signatures"),
        referent,
        Some(&json!({ "rang": 1, "signature": signature(&version) })),
    );
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
    attendre_pack(c, coordinateur, &pack);
    let zip = telecharger(c, coordinateur, &pack);
    assert!(zip.starts_with(b"PK"));
    assert_eq!(telecharger(a, coordinateur, &pack), zip);
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
}
