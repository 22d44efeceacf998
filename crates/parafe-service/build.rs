//! Embeds `workflows/` into the binary, so that `parafe serve` runs from any directory.
use std::{env, fs, path::Path};

fn main() {
    // `sqlx::migrate!` embeds the migrations: a new one must rebuild the crate.
    println!("cargo:rerun-if-changed=../../storage/migrations");
    println!("cargo:rerun-if-changed=../../workflows");
    let mut workflows: Vec<_> = fs::read_dir("../../workflows")
        .expect("dossier workflows/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    workflows.sort();
    let mut out =
        String::from("/// (nom du fichier, contenu)\npub static WORKFLOWS: &[(&str, &str)] = &[\n");
    for path in &workflows {
        let abs = fs::canonicalize(path).expect("chemin de workflow");
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            path.file_name().unwrap().to_string_lossy(),
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let out_dir = env::var("OUT_DIR").unwrap();
    fs::write(Path::new(&out_dir).join("workflows.rs"), out).unwrap();
}
