//! Embeds `document-templates/` (modèles, schémas, parties communes) into the binary, so that
//! rendering never reads the file system: the examples are left out, they are test data.
use std::{env, fs, path::Path};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../document-templates");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from("/// (chemin relatif à `document-templates/`, contenu)\npub static FILES: &[(&str, &[u8])] = &[\n");
    for rel in &files {
        let abs = fs::canonicalize(root.join(rel)).expect("chemin de modèle");
        out.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let out_dir = env::var("OUT_DIR").unwrap();
    fs::write(Path::new(&out_dir).join("templates.rs"), out).unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "examples") {
                collect(root, &path, files);
            }
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("typ" | "toml")
        ) {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.push(rel);
        }
    }
}
