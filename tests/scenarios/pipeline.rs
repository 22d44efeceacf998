//! The spine end to end, through the command line: a contrat rendered from its template is
//! sealed, verified, filed in the evidence store, anchored by the local TSA, and the whole store
//! verifies — until an anchor is tampered with.

use crate::support::{examples, parafe, text};
use std::path::Path;

fn run(data: &Path, args: &[&str]) -> (bool, String) {
    let mut all = args.to_vec();
    let data = data.to_string_lossy().into_owned();
    all.extend(["--data-dir", &data]);
    let out = parafe(&all);
    (out.status.success(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn a_rendered_contrat_is_sealed_filed_anchored_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("donnees-parafe");
    let (pdf, sealed) = (
        dir.path().join("contrat.pdf"),
        dir.path().join("contrat-scelle.pdf"),
    );
    let example = examples().join("contrat-engagement.json");
    let out = parafe(&[
        "render",
        "contrat-engagement",
        "--data",
        &example.to_string_lossy(),
        "-o",
        &pdf.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let (ok, report) = run(&data, &["init"]);
    assert!(ok, "{report}");
    let (ok, report) = run(
        &data,
        &[
            "seal",
            &pdf.to_string_lossy(),
            "-o",
            &sealed.to_string_lossy(),
        ],
    );
    assert!(ok, "{report}");
    let (ok, report) = run(&data, &["verify", &sealed.to_string_lossy()]);
    assert!(ok && report.contains("B-LTA"), "{report}");

    let (ok, report) = run(
        &data,
        &[
            "store",
            "put",
            "--plie",
            "plie-pays-de-l-or",
            "--operation",
            "202500417",
            "--kind",
            "contrat-engagement",
            "--participant",
            "P-2025-0412",
            &sealed.to_string_lossy(),
        ],
    );
    assert!(ok, "{report}");
    let (ok, report) = run(&data, &["store", "anchor"]);
    assert!(ok && report.contains("ancre n° 1"), "{report}");
    let (ok, report) = run(&data, &["verify", "--store"]);
    assert!(ok && report.contains("1 ancre(s)"), "{report}");

    // The anchor's RFC 3161 token is what proves the chains' state: alter one character of it.
    let anchors = data.join("journal/anchors.jsonl");
    let line = std::fs::read_to_string(&anchors).unwrap();
    let der_at = line.find("\"der\":\"").unwrap() + 40;
    let mut bytes = line.into_bytes();
    bytes[der_at] = if bytes[der_at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&anchors, bytes).unwrap();
    let (ok, report) = run(&data, &["verify", "--store"]);
    assert!(
        !ok && report.contains("ancre"),
        "une ancre altérée doit être signalée :\n{report}"
    );
}
