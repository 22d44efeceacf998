//! Workflow definitions are data: the shipped ones are valid, a bad one names its file and line.

use crate::support::{parafe, repo, text};

#[test]
fn the_shipped_workflows_are_valid() {
    let run = parafe(&[
        "workflows",
        "--dir",
        &repo().join("workflows").to_string_lossy(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let listing = text(&run.stdout);
    assert!(
        listing.contains("bilan-brsa") && listing.contains("échéances : 5, 11, 17 mois"),
        "{listing}"
    );
    assert!(listing.contains("11 workflows valides"), "{listing}");
}

/// From any directory, with no folder given: the workflows built into the binary.
#[test]
fn les_workflows_integres_servent_sans_dossier() {
    let vide = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_parafe"))
        .arg("workflows")
        .current_dir(vide.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    let listing = text(&run.stdout);
    assert!(
        listing.contains("11 workflows valides (intégrés)")
            && listing.contains("contrat-engagement"),
        "{listing}"
    );
    // A missing folder says what to do.
    let run = parafe(&[
        "workflows",
        "--dir",
        &vide.path().join("absent").to_string_lossy(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("retirez `workflows` de parafe.toml"),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn a_bad_workflow_names_its_file_and_line() {
    let cases = [
        (
            "modele = \"contrat-de-travail\"",
            "modèle inconnu « contrat-de-travail »",
            2,
        ),
        (
            "[[signataires]]\nrole = \"stagiaire\"\nmethodes = [\"lien\"]",
            "rôle inconnu « stagiaire »",
            7,
        ),
        (
            "[[signataires]]\nrole = \"referent\"\nmethodes = [\"lien\"]\nplusieurs = true",
            "le rôle « referent » ne signe pas une fois par personne listée",
            7,
        ),
        ("relances = [\"3 jours\"]", "durée « 3 jours » invalide", 2),
    ];
    for (change, expected, line) in cases {
        let dir = tempfile::tempdir().unwrap();
        let base = "titre = \"Essai\"\nmodele = \"emargement-individuel\"\ndelai = \"2j\"\nexpiration = \"7j\"\n";
        let source = if change.starts_with("modele") {
            base.replace("modele = \"emargement-individuel\"", change)
        } else if change.starts_with("relances") {
            base.replace(
                "titre = \"Essai\"\n",
                &format!("titre = \"Essai\"\n{change}\n"),
            )
        } else {
            format!("{base}\n{change}\n")
        };
        std::fs::write(dir.path().join("essai.toml"), source).unwrap();
        let run = parafe(&["workflows", "--dir", &dir.path().to_string_lossy()]);
        assert_eq!(run.status.code(), Some(2));
        let message = text(&run.stderr);
        assert!(
            message.contains(&format!("essai.toml:{line} : ")),
            "ligne {line} attendue : {message}"
        );
        assert!(
            message.contains(expected),
            "« {expected} » attendu : {message}"
        );
    }
}

#[test]
fn bilans_brsa_follow_the_workflow_months_and_an_early_exit() {
    let dir = repo().join("workflows");
    let run = parafe(&[
        "bilans",
        "--cer-debut",
        "2025-01-15",
        "--sortie",
        "2025-09-10",
        "--aujourdhui",
        "2025-09-01",
        "--dir",
        &dir.to_string_lossy(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let lines: Vec<String> = text(&run.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines[1..],
        [
            "bilan à 5 mois dû le 15/06/2025 échu au 01/09/2025",
            "bilan de sortie anticipée dû le 10/09/2025 à venir",
            "bilan à 11 mois dû le 15/12/2025 annulé (sortie anticipée)",
            "bilan à 17 mois dû le 15/06/2026 annulé (sortie anticipée)",
        ]
    );

    // A Département with other months: the workflow file decides.
    let other = tempfile::tempdir().unwrap();
    let source = std::fs::read_to_string(dir.join("bilan-brsa.toml"))
        .unwrap()
        .replace("mois = [5, 11, 17]", "mois = [6, 12]");
    std::fs::write(other.path().join("bilan-brsa.toml"), source).unwrap();
    let run = parafe(&[
        "bilans",
        "--cer-debut",
        "2025-01-31",
        "--dir",
        &other.path().to_string_lossy(),
    ]);
    let out = text(&run.stdout);
    assert!(
        out.contains("bilan à 6 mois") && out.contains("31/07/2025") && out.contains("31/01/2026"),
        "{out}"
    );

    let run = parafe(&[
        "bilans",
        "--cer-debut",
        "2025-02-30",
        "--dir",
        &dir.to_string_lossy(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("« 2025-02-30 » n'est pas une date"),
        "{}",
        text(&run.stderr)
    );
}
