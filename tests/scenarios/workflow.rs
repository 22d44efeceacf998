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
    assert!(listing.contains("8 workflows valides"), "{listing}");
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
