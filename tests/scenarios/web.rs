//! The web screens in a real browser: Debian's Chromium driven by playwright-core (npm), against
//! `parafe serve` on loopback with a real SMTP server (aiosmtpd). The scenarios themselves are
//! in `tests/navigateur/essais/` (référent and link signing, kiosk, security) and
//! `tests/navigateur/chiffres.test.js` (the PLIE's figures); `tests/run` installs Chromium and
//! the npm package. Screenshots land in `target/captures/`.

use crate::support::repo;
use std::process::Command;

/// Runs node's test runner on `cible` (a folder or a file of `tests/navigateur/`).
fn dans_chromium(cible: &str) {
    let dossier = repo().join("tests/navigateur");
    assert!(
        dossier.join("node_modules/playwright-core").is_dir(),
        "playwright-core absent : lancez les tests par tests/run (npm ci dans tests/navigateur)"
    );
    let sortie = Command::new("node")
        .args(["--test", "--test-concurrency=1", cible])
        .current_dir(&dossier)
        .env("PARAFE_BIN", env!("CARGO_BIN_EXE_parafe"))
        .output()
        .expect("node introuvable : lancez les tests par tests/run");
    let texte = String::from_utf8_lossy(&sortie.stdout);
    let bilan: Vec<&str> = texte
        .lines()
        .filter(|l| l.starts_with("# pass") || l.starts_with("# fail"))
        .collect();
    assert!(
        sortie.status.success(),
        "essais dans le navigateur en échec :\n{texte}\n{}",
        String::from_utf8_lossy(&sortie.stderr)
    );
    assert!(
        bilan
            .iter()
            .any(|l| l.starts_with("# pass") && l != &"# pass 0"),
        "aucun essai lancé :\n{texte}"
    );
}

#[test]
fn ecrans_dans_chromium_signature_par_lien_kiosque_et_securite() {
    dans_chromium("essais/");
}

#[test]
fn chiffres_dans_chromium_ecran_graphiques_liste_et_tableur() {
    dans_chromium("chiffres.test.js");
}
