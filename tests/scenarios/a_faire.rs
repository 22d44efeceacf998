//! Issue 19: the PLIE's follow-up rules as timers, and the référent's « à faire » page. A
//! portfolio of 80 participants is built through the service over two months — the clock
//! injected at each start (`PARAFE_HORLOGE`): import, interviews signed on the tablet,
//! workshops with absentees (excused or not), documents sent by link and reminded — then the
//! list of 18 June 2025 is checked line by line against what the plan below expects, worked
//! out by hand from the seeds' rules (not by the engine), on the JSON twin and on the page.
//! The coordinateur sees counts per référent only, another référent none of these lines.
//! The opération is co-funded by the FSE+: each participant's entry questionnaire is due with
//! his entry, the exit data within the 4 weeks after an exit, the six-month situation after it
//! (a second scenario follows them day by day, with the one e-mail to the référent).

use crate::service::{fiche_plie, signature, Navigateur, Reglages, Service, Smtp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The phases: the service is started again at each, its clock at 10:00 in Paris.
const P0: &str = "2025-04-14T08:00:00Z";
const P1: &str = "2025-05-12T08:00:00Z";
const P2: &str = "2025-06-02T08:00:00Z";
const P3: &str = "2025-06-16T08:00:00Z";
const AU: &str = "2025-06-18T08:00:00Z";

/// One group of the portfolio: what happens to its participants, and the lines expected on
/// 18 June 2025 for each (action, due day, urgency).
struct Groupe {
    code: &'static str,
    nombre: usize,
    /// Entry day, and exit day and motive, as the parcours software exports them.
    entree: &'static str,
    sortie: Option<(&'static str, &'static str)>,
    /// CER start of a participant on RSA (bilans at 5, 11, 17 months).
    cer: Option<&'static str>,
    /// Individual interviews signed at these phases.
    entretiens: &'static [&'static str],
    /// Workshop attendance: (phase, present / absent / excused).
    ateliers: &'static [(&'static str, Presence)],
    /// Sent by link at P1 and reminded twice, never signed.
    relances: bool,
    attendu: &'static [(&'static str, &'static str, &'static str)],
}

#[derive(Clone, Copy, PartialEq)]
enum Presence {
    Present,
    Absent,
    Excuse,
}
use Presence::*;

const RETARD: &str = "en_retard";
const SEMAINE: &str = "cette_semaine";
const VENIR: &str = "a_venir";

/// 80 participants. Defaults: 2 interviews a month (the k-th due on day ⌈k·30/2⌉ of June),
/// 15 days to the first, alerts 2 months without interview or étape (shown 14 days before),
/// 6 months without follow-up (30 days before), reviews at 18 months, exit proof in 28 days,
/// follow-up 6 months after a hiring; « cette semaine » is 18-24 June, « à venir » to 18 July.
const PLAN: &[Groupe] = &[
    // Two June interviews and a workshop on 2 June: nothing to do.
    Groupe {
        code: "A",
        nombre: 8,
        entree: "06/01/2025",
        sortie: None,
        cer: None,
        entretiens: &[P2, P3],
        ateliers: &[(P2, Present)],
        relances: false,
        attendu: &[],
    },
    // One June interview: the second due on 30 June.
    Groupe {
        code: "B",
        nombre: 8,
        entree: "03/02/2025",
        sortie: None,
        cer: None,
        entretiens: &[P2],
        ateliers: &[(P2, Present)],
        relances: false,
        attendu: &[("entretien_du_mois", "2025-06-30", VENIR)],
    },
    // Seen on 12 May only: June's first interview was due on the 15th.
    Groupe {
        code: "C",
        nombre: 8,
        entree: "03/03/2025",
        sortie: None,
        cer: None,
        entretiens: &[P1],
        ateliers: &[(P1, Present)],
        relances: false,
        attendu: &[("entretien_du_mois", "2025-06-15", RETARD)],
    },
    // New: the first interview within 15 days of entry.
    Groupe {
        code: "D",
        nombre: 6,
        entree: "10/06/2025",
        sortie: None,
        cer: None,
        entretiens: &[],
        ateliers: &[],
        relances: false,
        attendu: &[("premier_entretien", "2025-06-25", VENIR)],
    },
    Groupe {
        code: "D2",
        nombre: 4,
        entree: "05/06/2025",
        sortie: None,
        cer: None,
        entretiens: &[],
        ateliers: &[],
        relances: false,
        attendu: &[("premier_entretien", "2025-06-20", SEMAINE)],
    },
    Groupe {
        code: "D3",
        nombre: 4,
        entree: "26/05/2025",
        sortie: None,
        cer: None,
        entretiens: &[],
        ateliers: &[],
        relances: false,
        attendu: &[("premier_entretien", "2025-06-10", RETARD)],
    },
    // Last seen 14 April, no étape since entry.
    Groupe {
        code: "E",
        nombre: 4,
        entree: "06/01/2025",
        sortie: None,
        cer: None,
        entretiens: &[P0],
        ateliers: &[],
        relances: false,
        attendu: &[
            ("entretien_du_mois", "2025-06-15", RETARD),
            ("sans_entretien", "2025-06-14", RETARD),
            ("sans_etape", "2025-03-06", RETARD),
        ],
    },
    // Never seen since December: no longer counts since 2 June.
    Groupe {
        code: "F",
        nombre: 4,
        entree: "02/12/2024",
        sortie: None,
        cer: None,
        entretiens: &[],
        ateliers: &[],
        relances: false,
        attendu: &[
            ("premier_entretien", "2024-12-17", RETARD),
            ("suivi_justifie", "2025-06-02", RETARD),
        ],
    },
    // Never seen since 10 January: the 6 months fall on 10 July.
    Groupe {
        code: "F2",
        nombre: 4,
        entree: "10/01/2025",
        sortie: None,
        cer: None,
        entretiens: &[],
        ateliers: &[],
        relances: false,
        attendu: &[
            ("premier_entretien", "2025-01-25", RETARD),
            ("suivi_justifie", "2025-07-10", VENIR),
        ],
    },
    // 18 months of parcours on 8 July, and on 11 June.
    Groupe {
        code: "G",
        nombre: 4,
        entree: "08/01/2024",
        sortie: None,
        cer: None,
        entretiens: &[P2, P3],
        ateliers: &[(P2, Present)],
        relances: false,
        attendu: &[("revue", "2025-07-08", VENIR)],
    },
    Groupe {
        code: "G2",
        nombre: 2,
        entree: "11/12/2023",
        sortie: None,
        cer: None,
        entretiens: &[P2, P3],
        ateliers: &[(P2, Present)],
        relances: false,
        attendu: &[("revue", "2025-06-11", RETARD)],
    },
    // Two unexcused absences after the last interview: a proposal to the commission.
    Groupe {
        code: "H",
        nombre: 4,
        entree: "06/01/2025",
        sortie: None,
        cer: None,
        entretiens: &[P0],
        ateliers: &[(P1, Absent), (P2, Absent)],
        relances: false,
        attendu: &[
            ("entretien_du_mois", "2025-06-15", RETARD),
            ("sans_entretien", "2025-06-14", RETARD),
            ("sans_etape", "2025-03-06", RETARD),
            ("perte_de_contact", "2025-06-02", RETARD),
        ],
    },
    // The second absence excused: no proposal.
    Groupe {
        code: "H2",
        nombre: 2,
        entree: "06/01/2025",
        sortie: None,
        cer: None,
        entretiens: &[P0],
        ateliers: &[(P1, Absent), (P2, Excuse)],
        relances: false,
        attendu: &[
            ("entretien_du_mois", "2025-06-15", RETARD),
            ("sans_entretien", "2025-06-14", RETARD),
            ("sans_etape", "2025-03-06", RETARD),
        ],
    },
    // Two written reminders unanswered (12 May).
    Groupe {
        code: "I",
        nombre: 4,
        entree: "06/01/2025",
        sortie: None,
        cer: None,
        entretiens: &[P0],
        ateliers: &[],
        relances: true,
        attendu: &[
            ("entretien_du_mois", "2025-06-15", RETARD),
            ("sans_entretien", "2025-06-14", RETARD),
            ("sans_etape", "2025-03-06", RETARD),
            ("perte_de_contact", "2025-05-12", RETARD),
        ],
    },
    // Hired on 14 March, seen in June: only the exit's proof is missing.
    Groupe {
        code: "J",
        nombre: 4,
        entree: "02/09/2024",
        sortie: Some(("14/03/2025", "Emploi CDI")),
        cer: None,
        entretiens: &[P2],
        ateliers: &[],
        relances: false,
        attendu: &[
            ("preuve_sortie", "2025-04-11", RETARD),
            ("questionnaire_sortie", "2025-04-11", RETARD),
        ],
    },
    // Hired on 8 January: June's interview in employment, and the 6 months on 8 July.
    Groupe {
        code: "J2",
        nombre: 4,
        entree: "03/06/2024",
        sortie: Some(("08/01/2025", "CDD de 8 mois")),
        cer: None,
        entretiens: &[],
        ateliers: &[],
        relances: false,
        attendu: &[
            ("preuve_sortie", "2025-02-05", RETARD),
            ("questionnaire_sortie", "2025-02-05", RETARD),
            ("entretien_dans_l_emploi", "2025-06-30", VENIR),
            ("sortie_positive", "2025-07-08", VENIR),
            // Due on 8 July, to collect by 5 August.
            ("questionnaire_six_mois", "2025-08-05", VENIR),
        ],
    },
    // Moved away on 30 April: the exit's proof only.
    Groupe {
        code: "J3",
        nombre: 2,
        entree: "03/06/2024",
        sortie: Some(("30/04/2025", "Déménagement")),
        cer: None,
        entretiens: &[],
        ateliers: &[],
        relances: false,
        attendu: &[
            ("preuve_sortie", "2025-05-28", RETARD),
            ("questionnaire_sortie", "2025-05-28", RETARD),
        ],
    },
    // On RSA, CER from 13 January: the 5-month bilan was due on 13 June.
    Groupe {
        code: "K",
        nombre: 4,
        entree: "06/01/2025",
        sortie: None,
        cer: Some("13/01/2025"),
        entretiens: &[P2, P3],
        ateliers: &[(P2, Present)],
        relances: false,
        attendu: &[("bilan_brsa", "2025-06-13", RETARD)],
    },
];

const REFERENT: &str = "t.garnier@plie.fr";
const AUTRE: &str = "a.martin@plie.fr";

/// (group, participant's external id, name as sheets print it) of every participant.
fn participants() -> Vec<(&'static Groupe, String, String)> {
    let mut n = 0;
    let mut v = Vec::new();
    for g in PLAN {
        for _ in 0..g.nombre {
            n += 1;
            v.push((g, format!("S-{n:03}"), format!("Camille DOSSIER{n:02}")));
        }
    }
    v
}

fn extraction() -> String {
    let mut csv = String::from("Identifiant;Civilité;Nom;Prénom;Date de naissance;Email;Téléphone;Code postal;Commune;Département;Email référent;Nom référent;Prénom référent;Opération;Prescripteur;Email prescripteur;Date d'entrée;RSA;Début CER;Date de sortie;Motif de sortie\n");
    for (i, (g, id, _)) in participants().iter().enumerate() {
        let n = i + 1;
        let (sortie, motif) = g.sortie.unwrap_or(("", ""));
        csv.push_str(&format!(
            "{id};Madame;Dossier{n:02};Camille;01/02/1985;dossier{n:02}@exemple.fr;;34400;Lunel;34;{REFERENT};Garnier;Thomas;202500417;France Travail Lunel;conseil@francetravail.exemple;{};{};{};{sortie};{motif}\n",
            g.entree,
            if g.cer.is_some() { "Oui" } else { "Non" },
            g.cer.unwrap_or(""),
        ));
    }
    // Another référent's participant: never on Thomas Garnier's list.
    csv.push_str(&format!("S-900;Monsieur;Ailleurs;Noé;01/02/1985;;;34400;Lunel;34;{AUTRE};Martin;Alice;202500417;France Travail Lunel;;02/12/2024;Non;;;\n"));
    csv
}

fn donnees_entretien(date: &str) -> Value {
    let mut d = crate::support::example("emargement-individuel");
    let o = d.as_object_mut().unwrap();
    for cle in ["reference", "participant", "referent", "operation"] {
        o.remove(cle);
    }
    o.insert("date".into(), json!(date));
    d
}

/// An individual interview signed on the tablet by the participant then the référent.
fn entretien(service: &Service, jeton: &str, participant: &str, date: &str) {
    let (reference, version) = service.creer_et_envoyer(
        jeton,
        &json!({ "workflow": "emargement-individuel", "participant": participant, "donnees": donnees_entretien(date) }),
    );
    for rang in [0, 1] {
        let (status, v) = service.signer_en_presence(jeton, &reference, &version, rang);
        assert_eq!(status, StatusCode::OK, "{participant} rang {rang} : {v}");
    }
}

/// A workshop on the tablet: the present sign, the animator closes, ticking the excused.
fn atelier(tablette: &Navigateur, date: &str, inscrits: &[(&str, &str, Presence)]) {
    let refs: Vec<&str> = inscrits.iter().map(|i| i.0).collect();
    let f = tablette.ouvrir_atelier("Atelier recherche d'emploi", date, &refs);
    let mut excuses = Vec::new();
    for (_, nom, presence) in inscrits {
        match presence {
            Present => {
                let (status, v) = tablette.signer(
                    &f,
                    &format!("cle-{date}-{nom}"),
                    json!({ "signataire": f.id(nom) }),
                );
                assert_eq!(status, StatusCode::OK, "{nom} : {v}");
            }
            Excuse => excuses.push(f.id(nom)),
            Absent => {}
        }
    }
    let (status, v) = tablette.json(
        "POST",
        &format!("/kiosque/{}/cloture", f.kiosque),
        Some(&json!({ "cle": format!("cloture-{date}"), "signature": signature(&f.version), "excuses": excuses })),
    );
    assert_eq!(status, StatusCode::OK, "clôture : {v}");
}

fn jour_de(phase: &str) -> &str {
    &phase[..10]
}

/// `JJ/MM/AAAA` as `AAAA-MM-JJ`.
fn iso(jour: &str) -> String {
    let [j, m, a]: [&str; 3] = jour.split('/').collect::<Vec<_>>().try_into().unwrap();
    format!("{a}-{m}-{j}")
}

#[test]
fn la_liste_a_faire_d_un_portefeuille_de_80_participants_ligne_a_ligne() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir.path().join("smtp"));
    let mut service = Service::lancer(
        &dir.path().join("data"),
        Reglages {
            smtp: Some(smtp.port),
            horloge: Some(P0),
            ..Reglages::default()
        },
    );
    let coordinateur = service.compte("coord@plie.fr", "coordinateur", Some("plie-test"));
    fiche_plie(&service, &coordinateur);
    // The accounts first: the import then names the référents as the parcours software does.
    let referent = service.compte(REFERENT, "referent", Some("plie-test"));
    let autre = service.compte(AUTRE, "referent", Some("plie-test"));
    let (status, import) = service.importer(&coordinateur, &extraction());
    assert_eq!(status, StatusCode::OK, "{import}");
    crate::service::decrire_l_operation(&service, &coordinateur);
    service.activer(&smtp, REFERENT);
    let liste = service.ok("GET", "/api/participants", &referent, None);
    let refs: BTreeMap<String, String> = liste["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["identifiant_externe"].as_str().unwrap().to_owned(),
                p["ref"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let tous = participants();
    assert_eq!(refs.len(), 80, "le portefeuille : {liste}");
    let r = |id: &str| refs[id].as_str();

    for phase in [P0, P1, P2, P3] {
        if phase != P0 {
            service.horloge = Some(phase.to_owned());
            service.redemarrer();
        }
        let jour = jour_de(phase);
        for (g, id, _) in &tous {
            if g.entretiens.contains(&phase) {
                entretien(&service, &referent, r(id), jour);
            }
            if g.relances && phase == P1 {
                let (reference, _) = service.creer_et_envoyer(
                    &referent,
                    &json!({ "workflow": "emargement-individuel", "participant": r(id), "donnees": donnees_entretien(jour),
                             "signataires": [{ "role": "participant", "methode": "lien" }] }),
                );
                for _ in 0..2 {
                    service.ok(
                        "POST",
                        &format!("/api/documents/{reference}/relance"),
                        &referent,
                        None,
                    );
                }
            }
        }
        let inscrits: Vec<(&str, &str, Presence)> = tous
            .iter()
            .filter_map(|(g, id, nom)| {
                g.ateliers
                    .iter()
                    .find(|(p, _)| *p == phase)
                    .map(|(_, presence)| (r(id), nom.as_str(), *presence))
            })
            .collect();
        if !inscrits.is_empty() {
            let tablette = service.session(REFERENT);
            atelier(&tablette, jour, &inscrits);
        }
    }
    service.horloge = Some(AU.to_owned());
    service.redemarrer();

    // Expected, from the plan; and nobody's entry questionnaire recorded: due on his entry day,
    // all past on 18 June.
    let mut attendu: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    for (g, id, _) in &tous {
        attendu.insert((
            r(id).to_owned(),
            "questionnaire_entree".into(),
            iso(g.entree),
            RETARD.into(),
        ));
        for (action, echeance, urgence) in g.attendu {
            attendu.insert((
                r(id).to_owned(),
                action.to_string(),
                echeance.to_string(),
                urgence.to_string(),
            ));
        }
    }
    // The bilans are planned by the schedule after the import: wait for them.
    let mut v = Value::Null;
    for _ in 0..100 {
        v = service.ok("GET", "/api/a-faire", &referent, None);
        if v["echeances"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "bilan_brsa")
            .count()
            == 4
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(v["au"], "2025-06-18");
    let lignes = v["echeances"].as_array().unwrap();
    let obtenu: BTreeSet<(String, String, String, String)> = lignes
        .iter()
        .map(|e| {
            (
                e["participant"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["echeance"].as_str().unwrap().to_owned(),
                e["urgence"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(lignes.len(), obtenu.len(), "une ligne en double");
    let manquent: Vec<_> = attendu.difference(&obtenu).collect();
    let en_trop: Vec<_> = obtenu.difference(&attendu).collect();
    let groupe_de: BTreeMap<&str, &str> = tous.iter().map(|(g, id, _)| (r(id), g.code)).collect();
    let noms = |l: Vec<&(String, String, String, String)>| -> Vec<String> {
        l.iter()
            .map(|(p, a, e, u)| {
                format!(
                    "groupe {} {p} : {a} {e} {u}",
                    groupe_de.get(p.as_str()).unwrap_or(&"?")
                )
            })
            .collect()
    };
    assert!(
        manquent.is_empty() && en_trop.is_empty(),
        "manquent : {:#?}\nen trop : {:#?}",
        noms(manquent.clone()),
        noms(en_trop.clone())
    );
    // Most urgent first: late, this week, coming; by due day within each.
    let rang = |u: &str| {
        ["en_retard", "cette_semaine", "a_venir"]
            .iter()
            .position(|x| *x == u)
            .unwrap()
    };
    let cles: Vec<(usize, &str)> = lignes
        .iter()
        .map(|e| {
            (
                rang(e["urgence"].as_str().unwrap()),
                e["echeance"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(cles.windows(2).all(|w| w[0] <= w[1]), "ordre : {cles:?}");
    // Each line's button does its action.
    for e in lignes {
        let p = e["participant"].as_str().unwrap();
        let (url, formulaire) = (
            e["bouton"]["url"].as_str().unwrap(),
            e["bouton"]["formulaire"].as_bool().unwrap(),
        );
        let attendu = match e["action"].as_str().unwrap() {
            "premier_entretien"
            | "entretien_du_mois"
            | "sans_entretien"
            | "suivi_justifie"
            | "entretien_dans_l_emploi" => {
                format!("/participants/{p}/nouveau/emargement-individuel")
            }
            "sans_etape" => format!("/participants/{p}/nouveau/fiche-liaison-positionnement"),
            "perte_de_contact" => format!("/participants/{p}/nouveau/fiche-liaison-sortie"),
            "revue" | "preuve_sortie" | "sortie_positive" => {
                format!("/participants/{p}/justificatifs")
            }
            "questionnaire_entree" => format!("/participants/{p}/questionnaire/entree"),
            "questionnaire_sortie" => format!("/participants/{p}/questionnaire/sortie"),
            "questionnaire_six_mois" => format!("/participants/{p}/questionnaire/six_mois"),
            "bilan_brsa" => format!("/participants/{p}/bilans/5"),
            a => panic!("action inattendue {a}"),
        };
        assert_eq!(url, attendu, "{e}");
        assert_eq!(formulaire, e["action"] == "bilan_brsa", "{e}");
    }

    // The page: the same lines, each in its section, with its button.
    let navigateur = service.session(REFERENT);
    let (status, page) = navigateur.get("/a-faire");
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut vus = BTreeSet::new();
    for (section, urgence) in [
        ("en-retard", RETARD),
        ("cette-semaine", SEMAINE),
        ("a-venir", VENIR),
    ] {
        let debut = page
            .find(&format!("data-urgence=\"{section}\""))
            .unwrap_or_else(|| panic!("section {section}"));
        let fin = page[debut..].find("</section>").unwrap() + debut;
        for ligne in page[debut..fin].split("<tr data-participant=\"").skip(1) {
            let attribut = |nom: &str| {
                let i = ligne.find(&format!("{nom}=\"")).unwrap() + nom.len() + 2;
                ligne[i..i + ligne[i..].find('"').unwrap()].to_owned()
            };
            let participant = ligne[..ligne.find('"').unwrap()].to_owned();
            assert!(
                ligne.contains("class=\"bouton principal\"")
                    || ligne.contains("<button class=\"principal\""),
                "{ligne}"
            );
            vus.insert((
                participant,
                attribut("data-action"),
                attribut("data-echeance"),
                urgence.to_owned(),
            ));
        }
    }
    assert_eq!(vus, attendu, "la page ne montre pas les mêmes lignes");
    assert!(page.contains("Proposer une sortie pour perte de contact à la commission"));
    // The home page leads there.
    let (status, lieu) = navigateur.get("/");
    assert_eq!((status, lieu.as_str()), (StatusCode::SEE_OTHER, "/a-faire"));

    // Need-to-know: the other référent sees none of these lines, the coordinateur only counts.
    let v = service.ok("GET", "/api/a-faire", &autre, None);
    let siennes = v["echeances"].as_array().unwrap();
    assert!(
        siennes
            .iter()
            .all(|e| !refs.values().any(|r| e["participant"] == r.as_str())),
        "{v}"
    );
    assert_eq!(
        siennes.len(),
        3,
        "Noé AILLEURS : premier entretien, 6 mois sans suivi, questionnaire d'entrée : {v}"
    );
    let (status, _) = service.appel("GET", "/api/a-faire", &coordinateur, None);
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = service.appel("GET", "/api/a-faire/referents", &referent, None);
    assert_eq!(status, StatusCode::FORBIDDEN);
    let v = service.ok("GET", "/api/a-faire/referents", &coordinateur, None);
    let garnier = v["referents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["referent"]["nom"] == "Garnier")
        .unwrap_or_else(|| panic!("{v}"));
    let en_retard: BTreeSet<&String> = attendu
        .iter()
        .filter(|l| l.3 == RETARD)
        .map(|l| &l.0)
        .collect();
    assert_eq!(garnier["en_parcours"], 80 - 10, "{garnier}");
    assert_eq!(
        garnier["participants_en_retard"],
        en_retard.len(),
        "{garnier}"
    );
    assert_eq!(
        garnier["en_retard"],
        attendu.iter().filter(|l| l.3 == RETARD).count(),
        "{garnier}"
    );
    assert_eq!(
        garnier["cette_semaine"],
        attendu.iter().filter(|l| l.3 == SEMAINE).count(),
        "{garnier}"
    );
    assert!(
        !v.to_string().contains("DOSSIER") && !v.to_string().contains("Dossier"),
        "{v}"
    );
    service.activer(&smtp, "coord@plie.fr");
    let (status, page) = service.session("coord@plie.fr").get("/a-faire");
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Portefeuilles des référents")
            && page.contains("GARNIER")
            && page.contains("MARTIN"),
        "{page}"
    );
    assert!(
        !page.contains("DOSSIER"),
        "le coordinateur ne lit que des nombres"
    );
}

/// The questionnaire's lines of a référent's list: (participant, action, due day, urgency).
fn lignes_du_questionnaire(
    service: &Service,
    jeton: &str,
) -> BTreeSet<(String, String, String, String)> {
    service.ok("GET", "/api/a-faire", jeton, None)["echeances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("questionnaire_"))
        .map(|e| {
            (
                e["participant"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["echeance"].as_str().unwrap().to_owned(),
                e["urgence"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn le_questionnaire_fse_de_l_entree_aux_six_mois_sur_la_page_a_faire_et_un_courriel_au_referent() {
    use crate::questionnaire::{
        chemin, corps, entree, ligne, refs, service_et_courriels, valeur, EN_TETE,
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut service, smtp) = service_et_courriels(
        &dir,
        Reglages {
            horloge: Some("2025-06-02T08:00:00Z"),
            ..Reglages::default()
        },
    );
    let coordinateur = service.compte("coord@plie.fr", "coordinateur", Some("plie-test"));
    let referent = service.compte(REFERENT, "referent", Some("plie-test"));
    let csv = [
        // Enters today: his questionnaire is due with the contrat.
        ligne("Q-001", "Benali", REFERENT, "02/06/2025", ""),
        // Leaves today (recorded below, as the référent does).
        ligne("Q-002", "Durand", REFERENT, "06/01/2025", ""),
        // Left on 10 December: the six-month situation is due from 10 June to 8 July.
        ligne("Q-003", "Roux", REFERENT, "02/09/2024", "10/12/2024"),
    ]
    .concat();
    let (status, v) = service.importer(&coordinateur, &format!("{EN_TETE}{csv}"));
    assert_eq!(status, StatusCode::OK, "{v}");
    service.activer(&smtp, REFERENT);
    let r = refs(&service, &referent);
    let (samira, karim, lucie) = (r["Q-001"].clone(), r["Q-002"].clone(), r["Q-003"].clone());
    service.ok(
        "PUT",
        &chemin(&karim, "entree"),
        &referent,
        Some(&corps(&entree())),
    );
    let mut r = entree();
    r.insert("date_questionnaire", valeur("2024-09-02"));
    service.ok(
        "PUT",
        &chemin(&lucie, "entree"),
        &referent,
        Some(&corps(&r)),
    );
    service.ok(
        "PATCH",
        &format!("/api/participants/{karim}"),
        &referent,
        Some(&json!({ "date_sortie": "2025-06-02", "motif_sortie": "Emploi CDI" })),
    );
    let ligne = |p: &str, action: &str, echeance: &str, urgence: &str| {
        (
            p.to_owned(),
            action.to_owned(),
            echeance.to_owned(),
            urgence.to_owned(),
        )
    };

    // 2 June.
    assert_eq!(
        lignes_du_questionnaire(&service, &referent),
        BTreeSet::from([
            ligne(&samira, "questionnaire_entree", "2025-06-02", SEMAINE),
            ligne(&karim, "questionnaire_sortie", "2025-06-30", VENIR),
            ligne(&lucie, "questionnaire_sortie", "2025-01-07", RETARD),
            ligne(&lucie, "questionnaire_six_mois", "2025-07-08", VENIR),
        ])
    );
    // Each button opens the questionnaire screen of its moment.
    let navigateur = service.session(REFERENT);
    let (status, page) = navigateur.get(&format!("/participants/{lucie}/questionnaire/six_mois"));
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Questionnaire FSE — six mois après la sortie"),
        "{page}"
    );
    let (status, page) = navigateur.get("/a-faire");
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!(
            "href=\"/participants/{karim}/questionnaire/sortie\""
        )) && page.contains("Recueillir les données de sortie"),
        "{page}"
    );
    // Lucie's exit data are late: her référent is told, by first name and pseudonym only.
    let courriel = smtp.attendre(
        REFERENT,
        "Son questionnaire FSE attend les données de sortie",
    );
    assert!(
        courriel.contains(&lucie.to_uppercase())
            && courriel.contains("Samira")
            && courriel.contains(&format!("/participants/{lucie}/questionnaire/sortie")),
        "{courriel}"
    );
    assert!(
        !courriel.contains("Roux") && !courriel.contains("ROUX"),
        "{courriel}"
    );
    assert!(smtp.recus(REFERENT, "situation six mois après").is_empty());

    // 30 June, the 4 weeks' last day: Karim's exit data this week (reminded since 16 June),
    // Lucie's six-month situation come due; Samira's entry questionnaire recorded.
    // The service is killed (SIGKILL) to move its clock: nothing left half-sent first.
    service.attendre_outbox_vide(&coordinateur);
    service.horloge = Some("2025-06-30T08:00:00Z".into());
    service.redemarrer();
    let mut r = entree();
    r.insert("date_questionnaire", valeur("2025-06-02"));
    service.ok(
        "PUT",
        &chemin(&samira, "entree"),
        &referent,
        Some(&corps(&r)),
    );
    assert_eq!(
        lignes_du_questionnaire(&service, &referent),
        BTreeSet::from([
            ligne(&karim, "questionnaire_sortie", "2025-06-30", SEMAINE),
            ligne(&lucie, "questionnaire_sortie", "2025-01-07", RETARD),
            ligne(&lucie, "questionnaire_six_mois", "2025-07-08", VENIR),
        ])
    );
    smtp.attendre(
        REFERENT,
        &format!("/participants/{karim}/questionnaire/sortie"),
    );
    let six_mois = smtp.attendre(REFERENT, "situation six mois après la sortie");
    assert!(
        six_mois.contains("du 10/06/2025 au 08/07/2025"),
        "{six_mois}"
    );

    // 1 July: past the 4 weeks, Karim's exit data are late.
    service.attendre_outbox_vide(&coordinateur);
    service.horloge = Some("2025-07-01T08:00:00Z".into());
    service.redemarrer();
    assert!(
        lignes_du_questionnaire(&service, &referent).contains(&ligne(
            &karim,
            "questionnaire_sortie",
            "2025-06-30",
            RETARD
        ))
    );
    // One e-mail per item, not one per pass of the schedule (every second here).
    std::thread::sleep(std::time::Duration::from_secs(3));
    let recus = smtp.recus(REFERENT, "Questionnaire FSE à compléter");
    assert_eq!(recus.len(), 3, "{}", recus.join("\n-----\n"));
    // Lucie's six-month situation collected: its line goes.
    service.ok(
        "PUT",
        &chemin(&lucie, "six_mois"),
        &referent,
        Some(&corps(&BTreeMap::from([
            ("date_recueil_six_mois", valeur("2025-07-01")),
            ("m1", valeur("1b")),
        ]))),
    );
    assert_eq!(
        lignes_du_questionnaire(&service, &referent),
        BTreeSet::from([
            ligne(&karim, "questionnaire_sortie", "2025-06-30", RETARD),
            ligne(&lucie, "questionnaire_sortie", "2025-01-07", RETARD),
        ])
    );
}
