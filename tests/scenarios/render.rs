//! Issue 2: every example renders to a clean PDF/A that says what it must; bad input is refused
//! with a French message naming each faulty field, exit code 2, and no file written.

use crate::support::{assert_qpdf_clean, example, examples, parafe, pdf_text, text, tool};
use serde_json::Value;

/// The FSE mention each programme must print.
fn fse_mention(programme: &str) -> &'static str {
    match programme {
        "pon-2014-2020" => "Emploi et Inclusion",
        "fse-plus-2021-2027" => "Cofinancé par l'Union européenne",
        other => panic!("programme inattendu dans un exemple : {other}"),
    }
}

/// ISO date → the dd/mm/yyyy a French reader sees.
fn french(date: &str) -> String {
    let parts: Vec<&str> = date.split('-').collect();
    format!("{}/{}/{}", parts[2], parts[1], parts[0])
}

/// pdftotext may break lines anywhere a layout does; compare with whitespace folded.
fn folded(s: &str) -> String {
    s.replace('\u{2019}', "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_example_renders_to_a_clean_pdf_that_says_what_it_must() {
    let out = tempfile::tempdir().unwrap();
    let run = parafe(&[
        "render",
        "--all",
        "--data-dir",
        &examples().to_string_lossy(),
        "-o",
        &out.path().to_string_lossy(),
    ]);
    assert!(
        run.status.success(),
        "parafe render --all : {}",
        text(&run.stderr)
    );

    let mut checked = 0;
    for entry in std::fs::read_dir(examples()).unwrap() {
        let json_path = entry.unwrap().path();
        let stem = json_path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let data: Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        let pdf = out.path().join(format!("{stem}.pdf"));
        assert_qpdf_clean(&pdf);
        let body = folded(&pdf_text(&pdf));

        assert!(
            body.contains(&folded(data["reference"].as_str().unwrap())),
            "{stem} : référence absente"
        );
        let programme = data["operation"]["programme"].as_str().unwrap();
        assert!(
            body.contains(fse_mention(programme)),
            "{stem} : mention FSE « {} » absente",
            fse_mention(programme)
        );
        if let Some(nom) = data.pointer("/participant/nom").and_then(Value::as_str) {
            assert!(
                body.to_uppercase().contains(&nom.to_uppercase()),
                "{stem} : nom du participant {nom} absent"
            );
        }
        // Every top-level date is printed in the French form.
        for (key, value) in data.as_object().unwrap() {
            if let Some(date) = value.as_str().filter(|s| is_iso_date(s)) {
                assert!(
                    body.contains(&french(date)),
                    "{stem} : date {key} = {date} absente sous la forme {}",
                    french(date)
                );
            }
        }
        assert!(
            !body.contains("none"),
            "{stem} : une valeur absente est imprimée « none »"
        );
        checked += 1;
    }
    assert!(checked >= 9, "seulement {checked} exemples");
}

fn is_iso_date(s: &str) -> bool {
    s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Pages of a PDF, as pdfinfo counts them.
fn pages(pdf: &std::path::Path) -> usize {
    text(&tool("pdfinfo", &[&pdf.to_string_lossy()]).stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_plie_s_logo_fits_every_document_s_header_and_the_poster() {
    let out = tempfile::tempdir().unwrap();
    let mut avec_logo = 0;
    // A very wide logo and a square one: neither pushes anything onto another page.
    for (nom, logo) in [
        ("large.png", crate::support::png(900, 100)),
        ("carre.png", crate::support::png(300, 300)),
    ] {
        for entry in std::fs::read_dir(examples()).unwrap() {
            let chemin = entry.unwrap().path();
            let stem = chemin.file_stem().unwrap().to_string_lossy().into_owned();
            let mut data: Value =
                serde_json::from_str(&std::fs::read_to_string(&chemin).unwrap()).unwrap();
            let Some(plie) = data.get_mut("plie").and_then(Value::as_object_mut) else {
                continue;
            };
            plie.insert("logo".into(), Value::from(nom));
            let template = data["modele"].as_str().unwrap_or(&stem).to_owned();
            let template = template.trim_end_matches("-20").to_owned();
            let options = parafe::render::RenderOptions {
                images: vec![(nom.to_owned(), logo.clone())],
                ..Default::default()
            };
            let pdf = parafe::render::render(&template, &data, &options)
                .unwrap_or_else(|e| panic!("{stem} avec le logo {nom} : {e}"));
            let sans = out.path().join(format!("{stem}.pdf"));
            let run = parafe(&[
                "render",
                &template,
                "--data",
                &chemin.to_string_lossy(),
                "-o",
                &sans.to_string_lossy(),
            ]);
            assert!(run.status.success(), "{}", text(&run.stderr));
            let avec = out.path().join(format!("{stem}-{nom}.pdf"));
            std::fs::write(&avec, pdf.bytes()).unwrap();
            assert_qpdf_clean(&avec);
            assert_eq!(
                pages(&avec),
                pages(&sans),
                "{stem} : le logo {nom} ajoute une page"
            );
            let images = text(&tool("pdfimages", &["-list", &avec.to_string_lossy()]).stdout);
            assert!(images.lines().count() > 2, "{stem} : pas de logo\n{images}");
            avec_logo += 1;
        }
    }
    assert!(
        avec_logo >= 18,
        "{avec_logo} documents composés avec un logo"
    );
    // Looked at: the poster's top half with the wide logo.
    let captures = crate::support::repo().join("target/captures");
    std::fs::create_dir_all(&captures).unwrap();
    let out = tool(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "40",
            "-f",
            "1",
            "-l",
            "1",
            &out.path()
                .join("affiche-fse-large.png.pdf")
                .to_string_lossy(),
            &captures.join("affiche-avec-logo").to_string_lossy(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn the_poster_is_a3_and_the_20_attendee_sheet_paginates() {
    let out = tempfile::tempdir().unwrap();
    for (template, example) in [
        ("affiche-fse", "affiche-fse"),
        ("emargement-collectif", "emargement-collectif-20"),
    ] {
        let pdf = out.path().join(format!("{example}.pdf"));
        let data = examples().join(format!("{example}.json"));
        let run = parafe(&[
            "render",
            template,
            "--data",
            &data.to_string_lossy(),
            "-o",
            &pdf.to_string_lossy(),
        ]);
        assert!(run.status.success(), "{}", text(&run.stderr));
    }
    let info = text(
        &tool(
            "pdfinfo",
            &[&out.path().join("affiche-fse.pdf").to_string_lossy()],
        )
        .stdout,
    );
    assert!(info.contains("(A3)"), "l'affiche n'est pas en A3 :\n{info}");

    let sheet = out.path().join("emargement-collectif-20.pdf");
    let info = text(&tool("pdfinfo", &[&sheet.to_string_lossy()]).stdout);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        pages >= 2,
        "20 émargements tiennent sur {pages} page : cases de signature trop petites ?"
    );
    // Every attendee is on the sheet exactly once, and each page says which page it is.
    let data: Value = example("emargement-collectif-20");
    let body = folded(&pdf_text(&sheet)).to_uppercase();
    let attendees = data["participants"].as_array().expect("liste participants");
    assert_eq!(attendees.len(), 20);
    for attendee in attendees {
        let nom = attendee["nom"].as_str().unwrap().to_uppercase();
        assert_eq!(body.matches(&nom).count(), 1, "{nom} doit figurer une fois");
    }
    for page in 1..=pages {
        assert!(
            body.contains(&format!("{page} / {pages}")),
            "pagination « {page} / {pages} » absente"
        );
    }
}

#[test]
fn bad_data_names_every_faulty_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut data: Value = example("contrat-engagement");
    let object = data.as_object_mut().unwrap();
    object.remove("reference");
    object["participant"]["nom"] = Value::from(42);
    object["operation"]["programme"] = Value::from("fse-1789");
    object.insert("couleur_preferee".into(), Value::from("bleu"));
    let bad = dir.path().join("contrat.json");
    std::fs::write(&bad, data.to_string()).unwrap();
    let pdf = dir.path().join("contrat.pdf");
    let render = || {
        parafe(&[
            "render",
            "contrat-engagement",
            "--data",
            &bad.to_string_lossy(),
            "-o",
            &pdf.to_string_lossy(),
        ])
    };

    let run = render();
    assert_eq!(run.status.code(), Some(2));
    let message = text(&run.stderr);
    for expected in [
        "reference",
        "champ obligatoire manquant",
        "participant.nom",
        "texte attendu, reçu un nombre",
        "operation.programme",
        "« fse-1789 » n'est pas une valeur permise",
        "couleur_preferee",
        "champ inconnu",
    ] {
        assert!(
            message.contains(expected),
            "message sans « {expected} » :\n{message}"
        );
    }
    assert!(
        !pdf.exists(),
        "un fichier a été écrit malgré des données invalides"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "fichier temporaire laissé"
    );

    // Not JSON at all.
    std::fs::write(&bad, "{ \"reference\": ").unwrap();
    let run = render();
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("n'est pas un JSON valide (ligne 1"),
        "{}",
        text(&run.stderr)
    );
    assert!(!pdf.exists());
}

#[test]
fn an_unknown_template_lists_the_available_ones() {
    let run = parafe(&[
        "render",
        "contrat-de-travail",
        "--data",
        &examples().join("contrat-engagement.json").to_string_lossy(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let message = text(&run.stderr);
    assert!(
        message.contains("modèle inconnu « contrat-de-travail »"),
        "{message}"
    );
    for name in [
        "contrat-engagement",
        "emargement-collectif",
        "bilan-brsa",
        "affiche-fse",
        "certificat-preuve",
    ] {
        assert!(
            message.contains(name),
            "{name} absent de la liste : {message}"
        );
    }
}

#[test]
fn a_bad_file_in_a_batch_stops_the_whole_batch() {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    for name in ["emargement-individuel.json", "contrat-engagement.json"] {
        std::fs::copy(examples().join(name), input.path().join(name)).unwrap();
    }
    std::fs::write(input.path().join("emargement-individuel-2.json"), "{}").unwrap();
    let run = parafe(&[
        "render",
        "--all",
        "--data-dir",
        &input.path().to_string_lossy(),
        "-o",
        &output.path().to_string_lossy(),
    ]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
    assert!(
        text(&run.stderr).contains("emargement-individuel-2"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(
        std::fs::read_dir(output.path()).unwrap().count(),
        0,
        "des fichiers ont été écrits"
    );
}

#[test]
fn a_document_carries_its_evidence_json_as_an_associated_file() {
    let data: Value = example("emargement-individuel");
    let evidence = serde_json::json!({ "document": "PLIE-MTP-2025-00311", "signataires": 2 });
    let options = parafe::render::RenderOptions {
        attachments: vec![parafe::render::Attachment {
            name: "preuve.json".into(),
            description: "Preuves de signature".into(),
            json: evidence.clone(),
        }],
        ..Default::default()
    };
    let pdf = parafe::render::render("emargement-individuel", &data, &options).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emargement.pdf");
    std::fs::write(&path, pdf.bytes()).unwrap();
    assert_qpdf_clean(&path);

    let listing = text(&tool("pdfdetach", &["-list", &path.to_string_lossy()]).stdout);
    assert!(
        listing.contains("preuve.json"),
        "pièce jointe absente :\n{listing}"
    );
    let saved = dir.path().join("extrait.json");
    let out = tool(
        "pdfdetach",
        &[
            "-save",
            "1",
            "-o",
            &saved.to_string_lossy(),
            &path.to_string_lossy(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let extracted: Value = serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert_eq!(extracted, evidence);
}

#[test]
fn the_certificat_de_preuve_locates_its_seal_zone() {
    let data: Value = example("certificat-preuve");
    let pdf = parafe::render::render("certificat-preuve", &data, &Default::default()).unwrap();
    let zone = pdf
        .seal_zone()
        .expect("la boîte <zone-sceau> doit être trouvée");
    let [x1, y1, x2, y2] = zone.rect;
    let mm = |pt: f32| pt / 72.0 * 25.4;
    assert_eq!(zone.page, 0);
    assert!(
        (mm(x2 - x1) - 90.0).abs() < 0.5 && (mm(y2 - y1) - 28.0).abs() < 0.5,
        "zone {:?}",
        zone.rect
    );
    // On the A4 page (595 × 842 pt), inside the margins, in the lower half.
    assert!(
        x1 > 40.0 && x2 < 560.0 && y1 > 50.0 && y2 < 421.0,
        "zone {:?}",
        zone.rect
    );

    // A document without a certificat has no zone: its seal widget will be invisible.
    let contrat: Value = example("contrat-engagement");
    let pdf = parafe::render::render("contrat-engagement", &contrat, &Default::default()).unwrap();
    assert!(pdf.seal_zone().is_none());
}
