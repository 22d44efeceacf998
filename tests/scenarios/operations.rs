//! Issue 20: opérations as records. Two opérations entered by a coordinateur over the API, one
//! FSE+ 2021-2027 and one PON 2014-2020; a contrat signed for a participant of each is filed
//! on moto with Object Lock under its own programme's retention (read back from the server),
//! carries its programme's mention and its opération's title; the FSE+ retention is extended
//! when the last payment is entered, and a date that would shorten it is refused. The legal
//! hold, placed and lifted from the opération's page, is read back on the store's objects.

use crate::service::{participant_ref, Plie, Reglages, Service, EXTRACTION};
use crate::store::{client, Moto, ACCESS, SECRET};
use crate::support::pdf_text;
use chrono::Datelike;
use parafe::model::Sha256Digest;
use parafe::store::s3::object_key;
use reqwest::StatusCode;
use serde_json::{json, Value};

const FSE_PLUS: &str = "202500123";
const PON: &str = "202300871";
const HORS_FSE: &str = "VILLE-2025";
const NON_DECRITE: &str = "202600999";

/// Kept through 31/12 of `year`, Paris time: until the next midnight in Paris, in UTC.
pub(crate) fn fin_d_annee(year: i32) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&format!("{year}-12-31T23:00:00Z"))
        .unwrap()
        .timestamp()
}

/// pdftotext breaks lines where the layout does: whitespace folded, typographic quotes plain.
pub(crate) fn replie(s: &str) -> String {
    s.replace('\u{2019}', "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A contrat d'engagement for the participant named `nom`, as [`signe_et_lu`].
fn contrat_signe(plie: &Plie, nom: &str) -> (String, String) {
    let (_, reference, version) = plie.service.contrat_sur_tablette(&plie.referent, nom);
    signe_et_lu(plie, &reference, &version)
}

/// Document `reference`, sent as `version`, signed on the tablet (two signers), sealed and
/// filed: its sealed version's SHA-256 and its text.
fn signe_et_lu(plie: &Plie, reference: &str, version: &str) -> (String, String) {
    let service = &plie.service;
    for rang in [0, 1] {
        let (status, v) = service.signer_en_presence(&plie.referent, reference, version, rang);
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let fini = service.attendre_etat(&plie.referent, reference, "delivre");
    let scelle = fini["document"]["sha256_scelle"]
        .as_str()
        .unwrap()
        .to_owned();
    let chemin = plie.dir.path().join(format!("{reference}.pdf"));
    std::fs::write(&chemin, service.pdf(&plie.referent, reference)).unwrap();
    (scelle, replie(&pdf_text(&chemin)))
}

fn operation(service: &Service, jeton: &str, code: &str) -> Value {
    let liste = service.ok("GET", "/api/operations", jeton, None);
    liste["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["code"] == code)
        .unwrap_or_else(|| panic!("opération {code} absente : {liste}"))
        .clone()
}

/// The evidence store of a service on moto: a bucket with Object Lock, and a client to read
/// back what the service filed there.
pub(crate) struct Coffre {
    _moto: Moto,
    endpoint: String,
    s3: aws_sdk_s3::Client,
    rt: tokio::runtime::Runtime,
}

impl Coffre {
    pub(crate) fn demarrer() -> Coffre {
        let moto = Moto::start();
        let endpoint = moto.endpoint();
        let s3 = client(&endpoint, (ACCESS, SECRET));
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(
            s3.create_bucket()
                .bucket("preuves")
                .object_lock_enabled_for_bucket(true)
                .send(),
        )
        .unwrap();
        Coffre {
            _moto: moto,
            endpoint,
            s3,
            rt,
        }
    }

    /// A PLIE set up ([`Plie::pret_avec`]) whose service files in this store.
    pub(crate) fn plie(&self) -> Plie {
        Plie::pret_avec(
            None,
            Reglages {
                toml: self.toml(),
                ..Reglages::default()
            },
        )
    }

    /// The `[store]` section of the service's parafe.toml.
    pub(crate) fn toml(&self) -> String {
        format!(
            "[store]\nendpoint = \"{}\"\nbucket = \"preuves\"\naccess_key = \"{ACCESS}\"\nsecret_key = \"{SECRET}\"\n",
            self.endpoint
        )
    }

    /// Until when the store keeps the object of SHA-256 `sha` (seconds), asserting it is
    /// locked in compliance mode (no one may shorten it).
    pub(crate) fn retenu_jusqu_a(&self, sha: &str) -> i64 {
        let cle = object_key("plie-test", &Sha256Digest::from_hex(sha).unwrap());
        let head = self
            .rt
            .block_on(self.s3.head_object().bucket("preuves").key(&cle).send())
            .unwrap();
        assert_eq!(
            head.object_lock_mode().map(|m| m.as_str()),
            Some("COMPLIANCE")
        );
        head.object_lock_retain_until_date().unwrap().secs()
    }
}

#[test]
fn deux_operations_deux_programmes_leurs_conservations_au_coffre_et_leurs_mentions() {
    let coffre = Coffre::demarrer();
    let plie = coffre.plie();
    let (service, coordinateur) = (&plie.service, &plie.coordinateur);
    let retenu_jusqu_a = |sha: &str| coffre.retenu_jusqu_a(sha);

    // The two opérations, entered by the coordinateur; a référent may not.
    let fse_plus = json!({
        "numero": FSE_PLUS, "intitule": "Accompagnement renforcé vers l'emploi 2025-2026",
        "programme": "fse-plus-2021-2027", "debut": "2025-01-01", "fin": "2026-12-31",
        "cofinanceurs": "Département de l'Hérault",
    });
    let (status, v) = service.appel("POST", "/api/operations", &plie.referent, Some(&fse_plus));
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let cree = service.ok("POST", "/api/operations", coordinateur, Some(&fse_plus));
    // Before the last payment, 5 years from the end of the period: never more than the final.
    assert_eq!(cree["conservation_jusqu_au"], "31/12/2031", "{cree}");
    let pon = json!({
        "numero": PON, "intitule": "Parcours emploi des quartiers 2020-2023",
        "programme": "pon-2014-2020", "debut": "2020-01-01", "fin": "2023-12-31",
    });
    let cree = service.ok("POST", "/api/operations", coordinateur, Some(&pon));
    assert_eq!(cree["conservation_jusqu_au"], "31/12/2033", "{cree}");
    let hors_fse = json!({
        "numero": HORS_FSE, "intitule": "Accueil de proximité (ville)", "programme": "aucun",
        "debut": "2025-01-01", "fin": "2025-12-31",
    });
    service.ok("POST", "/api/operations", coordinateur, Some(&hors_fse));
    let (status, v) = service.appel("POST", "/api/operations", coordinateur, Some(&pon));
    assert_eq!(status, StatusCode::CONFLICT, "{v}");

    // A participant on each, imported as the parcours software exports them.
    let entete = EXTRACTION.lines().next().unwrap();
    let (status, v) = service.importer(coordinateur, &format!(
        "{entete}\n\
         P-2025-0501;Madame;Roux;Claire;03/03/1990;claire.roux@exemple.fr;;34000;Montpellier;34;t.garnier@plie.fr;Garnier;Thomas;{FSE_PLUS};CCAS;;10/02/2025;Non;;;\n\
         P-2021-0502;Monsieur;Petit;Hugo;04/04/1985;hugo.petit@exemple.fr;;34000;Montpellier;34;t.garnier@plie.fr;Garnier;Thomas;{PON};CCAS;;10/02/2021;Non;;;\n\
         P-2025-0503;Madame;Lemoine;Inès;05/05/1995;ines.lemoine@exemple.fr;;34000;Montpellier;34;t.garnier@plie.fr;Garnier;Thomas;{HORS_FSE};CCAS;;10/02/2025;Non;;;\n\
         P-2025-0504;Monsieur;Garcia;Léo;06/06/1996;leo.garcia@exemple.fr;;34000;Montpellier;34;t.garnier@plie.fr;Garnier;Thomas;{NON_DECRITE};CCAS;;10/02/2025;Non;;;\n"
    ));
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        operation(service, coordinateur, PON)["intitule"],
        "Parcours emploi des quartiers 2020-2023",
        "l'import garde l'intitulé de l'opération"
    );
    assert!(!participant_ref(service, &plie.referent, "Roux").is_empty());

    // Each contrat filed under its opération's retention, with its programme's mention.
    let (scelle_plus, texte_plus) = contrat_signe(&plie, "Roux");
    let (scelle_pon, texte_pon) = contrat_signe(&plie, "Petit");
    let (_, texte_hors_fse) = contrat_signe(&plie, "Lemoine");
    // An opération the import created, not yet described: a contrat for it does not leave (it
    // would print another programme's FSE block); a piece filed under it meanwhile is kept for
    // the least its final retention can be (5 years after the end of this year: its last
    // payment comes after it), never another programme's date its record could not shorten.
    // Described as PON 2014-2020, the contrat leaves with that programme's mention and title,
    // and both are kept to the programme's closure.
    let garcia = participant_ref(service, &plie.referent, "Garcia");
    let cree = service.ok(
        "POST",
        "/api/documents",
        &plie.referent,
        Some(&json!({ "workflow": "contrat-engagement", "participant": garcia, "donnees": crate::service::contrat_donnees() })),
    );
    let brouillon = cree["document"]["ref"].as_str().unwrap().to_owned();
    let (status, v) = service.appel(
        "POST",
        &format!("/api/documents/{brouillon}/envoi"),
        &plie.referent,
        None,
    );
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v["erreur"].as_str().unwrap_or_default().contains(&format!(
            "l'opération {NON_DECRITE} n'est pas encore décrite"
        )),
        "{v}"
    );
    let (status, v) = crate::pack::deposer_http(
        service,
        &plie.referent,
        &[("participant", &garcia), ("genre", "bulletin-salaire")],
        (
            "bulletin.pdf",
            &std::fs::read(crate::support::repo().join("tests/support/typst-certificat.pdf"))
                .unwrap(),
        ),
    );
    assert!(status.is_success(), "{v}");
    let piece = v["justificatif"]["sha256"].as_str().unwrap().to_owned();
    let an = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .year();
    assert_eq!(retenu_jusqu_a(&piece), fin_d_annee(an + 5));
    let decrite = service.ok(
        "PUT",
        &format!("/api/operations/{NON_DECRITE}"),
        coordinateur,
        Some(&json!({ "intitule": "Parcours des quartiers Est", "programme": "pon-2014-2020" })),
    );
    assert_eq!(decrite["conservation_jusqu_au"], "31/12/2033", "{decrite}");
    assert_eq!(retenu_jusqu_a(&piece), fin_d_annee(2033));
    // The draft made before the description leaves now, with the opération as described.
    let envoye = service.ok(
        "POST",
        &format!("/api/documents/{brouillon}/envoi"),
        &plie.referent,
        None,
    );
    let version = envoye["document"]["sha256_rendu"]
        .as_str()
        .unwrap()
        .to_owned();
    let (scelle_garcia, texte_garcia) = signe_et_lu(&plie, &brouillon, &version);
    assert_eq!(retenu_jusqu_a(&scelle_garcia), fin_d_annee(2033));
    assert!(
        texte_garcia.contains("Parcours des quartiers Est")
            && texte_garcia.contains("PON « Emploi et Inclusion » 2014-2020")
            && !texte_garcia.contains("FSE+"),
        "{texte_garcia}"
    );
    assert!(
        texte_plus.contains("cofinancée par le Fonds social européen")
            && texte_plus.contains("obligations de suivi du FSE"),
        "{texte_plus}"
    );
    // Without a programme, no word of the FSE: not cofinanced, not kept for its controls.
    assert!(
        texte_hors_fse.contains("Accueil de proximité (ville)")
            && texte_hors_fse.contains("aux seuls financeurs de l'opération")
            && !texte_hors_fse.contains("Fonds social européen")
            && !texte_hors_fse.contains("FSE"),
        "{texte_hors_fse}"
    );
    assert_eq!(retenu_jusqu_a(&scelle_plus), fin_d_annee(2031));
    assert_eq!(retenu_jusqu_a(&scelle_pon), fin_d_annee(2033));
    assert!(
        texte_plus.contains("Cofinancé par l'Union européenne")
            && texte_plus.contains("Accompagnement renforcé vers l'emploi 2025-2026")
            && !texte_plus.contains("Emploi et Inclusion"),
        "{texte_plus}"
    );
    assert!(
        // The block's mention, then the footer's (the title beside the block splits the first).
        texte_pon.contains("cofinancé par le Fonds social européen dans le cadre du programme opérationnel national « Emploi et")
            && texte_pon.contains("Cofinancé par le Fonds social européen — PON « Emploi et Inclusion » 2014-2020")
            && texte_pon.contains("Parcours emploi des quartiers 2020-2023")
            && !texte_pon.contains("FSE+"),
        "{texte_pon}"
    );

    // The last payment, in 2027: the FSE+ retention extended to 31/12/2032, on the store too.
    let mut paye = fse_plus.clone();
    paye.as_object_mut().unwrap().remove("numero");
    paye["dernier_paiement"] = json!("2027-06-30");
    let chemin = format!("/api/operations/{FSE_PLUS}");
    let v = service.ok("PUT", &chemin, coordinateur, Some(&paye));
    assert_eq!(v["conservation_jusqu_au"], "31/12/2032", "{v}");
    assert_eq!(v["dernier_paiement"], "2027-06-30", "{v}");
    assert_eq!(retenu_jusqu_a(&scelle_plus), fin_d_annee(2032));

    // A last payment that would shorten it is refused, in French, and nothing changes.
    let mut plus_tot = paye.clone();
    plus_tot["dernier_paiement"] = json!("2026-12-15");
    let (status, v) = service.appel("PUT", &chemin, coordinateur, Some(&plus_tot));
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let erreur = v["erreur"].as_str().unwrap();
    assert!(
        erreur.contains("court jusqu'au 31/12/2032")
            && erreur.contains("ne peut pas être raccourcie"),
        "{v}"
    );
    let apres = operation(service, coordinateur, FSE_PLUS);
    assert_eq!(apres["dernier_paiement"], "2027-06-30", "{apres}");
    assert_eq!(apres["conservation_jusqu_au"], "31/12/2032", "{apres}");
    assert_eq!(retenu_jusqu_a(&scelle_plus), fin_d_annee(2032));
    assert_eq!(
        operation(service, coordinateur, PON)["conservation_jusqu_au"],
        "31/12/2033"
    );

    // The command line says the same and refuses the same.
    let data = service.data.to_string_lossy().into_owned();
    let out = crate::support::parafe(&[
        "store",
        "retention",
        "--plie",
        "plie-test",
        "--operation",
        FSE_PLUS,
        "--years",
        "5",
        "--last-payment",
        "2026-12-15",
        "--data-dir",
        &data,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        crate::support::text(&out.stderr).contains("court jusqu'au 31/12/2032"),
        "{}",
        crate::support::text(&out.stderr)
    );
}

#[test]
fn gel_juridique_de_l_operation_place_depuis_l_ecran_lu_au_coffre() {
    let coffre = Coffre::demarrer();
    let plie = coffre.plie();
    let (service, coordinateur) = (&plie.service, &plie.coordinateur);
    let fse_plus = json!({
        "numero": FSE_PLUS, "intitule": "Accompagnement renforcé vers l'emploi 2025",
        "programme": "fse-plus-2021-2027", "debut": "2025-01-01", "fin": "2025-12-31",
    });
    service.ok("POST", "/api/operations", coordinateur, Some(&fse_plus));
    let affiche = |nom: &str| {
        let png = crate::pack::image(plie.dir.path(), nom, "png");
        let (status, v) = crate::pack::deposer_http(
            service,
            coordinateur,
            &[("operation", FSE_PLUS), ("genre", "photo-affiche-fse")],
            (nom, &png),
        );
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v["justificatif"]["sha256"].as_str().unwrap().to_owned()
    };
    let gel = |sha: &str| {
        let cle = object_key("plie-test", &Sha256Digest::from_hex(sha).unwrap());
        let head = coffre
            .rt
            .block_on(coffre.s3.head_object().bucket("preuves").key(&cle).send())
            .unwrap();
        head.object_lock_legal_hold_status()
            .map(|s| s.as_str().to_owned())
    };
    let avant = affiche("affiche-entree.png");
    assert_ne!(gel(&avant).as_deref(), Some("ON"));

    // An assistant reads the opération but may not hold it; the coordinateur holds it from
    // its page.
    service.compte("assistante@plie.fr", "assistant", Some("plie-test"));
    let assistante = service.connecter(&plie.smtp, "assistante@plie.fr");
    let chemin = format!("/operations/{FSE_PLUS}/gel");
    let (status, _) = assistante.formulaire(&chemin, &[("gel", "oui")]);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_ne!(gel(&avant).as_deref(), Some("ON"));
    let coordinatrice = service.connecter(&plie.smtp, "coord@plie.fr");
    let (status, lieu) = coordinatrice.formulaire(&chemin, &[("gel", "oui")]);
    assert!(status.is_redirection(), "{status} {lieu}");
    assert_eq!(gel(&avant).as_deref(), Some("ON"));
    // A piece filed while the hold lasts gets it too.
    let pendant = affiche("affiche-salle.png");
    assert_eq!(gel(&pendant).as_deref(), Some("ON"));
    assert_eq!(
        operation(service, coordinateur, FSE_PLUS)["gel_juridique"],
        true
    );
    let (_, page) = assistante.get(&format!("/operations/{FSE_PLUS}"));
    assert!(page.contains("gel juridique en place"), "{page}");
    assert!(
        crate::service::journal(&service.data).contains("\"legal_hold\""),
        "le gel est inscrit au journal"
    );

    // Lifted after the control: both pieces released.
    let (status, _) = coordinatrice.formulaire(&chemin, &[("gel", "non")]);
    assert!(status.is_redirection());
    assert_eq!(gel(&avant).as_deref(), Some("OFF"));
    assert_eq!(gel(&pendant).as_deref(), Some("OFF"));
    assert_eq!(
        operation(service, coordinateur, FSE_PLUS)["gel_juridique"],
        false
    );
}
