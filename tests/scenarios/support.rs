//! Helpers shared by the scenarios: running the parafe binary and outside tools.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (examples and templates are read from there).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn examples() -> PathBuf {
    repo().join("document-templates/examples")
}

/// The data of an example, `document-templates/examples/<name>.json`.
pub fn example(name: &str) -> serde_json::Value {
    let path = examples().join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `parafe` with `args`.
pub fn parafe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parafe"))
        .args(args)
        .output()
        .expect("lancement de parafe")
}

/// Runs an outside tool; a missing tool is a failed test, not a skipped one: the README's test
/// command installs them all.
pub fn tool(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} introuvable ({e}) : lancez les tests par la commande du README")
        })
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// The text of a PDF, as poppler's pdftotext extracts it (layout kept).
pub fn pdf_text(pdf: &Path) -> String {
    let out = tool("pdftotext", &["-layout", &pdf.to_string_lossy(), "-"]);
    assert!(
        out.status.success(),
        "pdftotext {}: {}",
        pdf.display(),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `qpdf --check` must report no error and no warning.
pub fn assert_qpdf_clean(pdf: &Path) {
    let out = tool("qpdf", &["--check", &pdf.to_string_lossy()]);
    let report = text(&out.stdout) + &text(&out.stderr);
    assert!(
        out.status.success() && !report.contains("WARNING"),
        "qpdf --check {}:\n{report}",
        pdf.display()
    );
}

/// SHA-256 of bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A PNG of `largeur` × `hauteur` pixels: a blue band on white, as a logo would be.
pub fn png(largeur: u32, hauteur: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(largeur, hauteur, |_, y| {
        if y < hauteur / 2 {
            image::Rgb([0, 51, 153])
        } else {
            image::Rgb([255, 255, 255])
        }
    });
    let mut octets = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut octets),
            image::ImageFormat::Png,
        )
        .unwrap();
    octets
}
