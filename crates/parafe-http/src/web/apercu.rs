//! Pages of a PDF as PNG pictures, rasterized on the server (hayro, pure Rust) from the exact
//! bytes whose SHA-256 is recorded: what a signer reads is that version, with no PDF plugin in
//! the browser. Pictures are kept under `<data-dir>/apercus/<sha256>/` once drawn.

use parafe_service::{App, Erreur};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// Width of a drawn page in pixels for an A4 page (595 pt): sharp on a tablet, light enough.
const ECHELLE: f32 = 2.0;
/// A PDF with more pages than this is not drawn (no document of parafe comes near).
const PAGES_MAX: usize = 60;

fn dossier(app: &App, sha: &str) -> PathBuf {
    app.config.data_dir.join("apercus").join(sha)
}

fn sha_valide(sha: &str) -> Result<(), Erreur> {
    if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Erreur::Introuvable("version inconnue".into()))
    }
}

/// Draws every page of a version (if not yet done); returns the number of pages.
pub async fn preparer(app: &App, sha: &str) -> Result<usize, Erreur> {
    sha_valide(sha)?;
    let dir = dossier(app, sha);
    if let Some(n) = deja_dessine(&dir).await {
        return Ok(n);
    }
    // One drawing per version at a time: the pages of a document are asked together.
    let verrou = {
        static VERROUS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
            OnceLock::new();
        let mut v = VERROUS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        v.retain(|_, m| Arc::strong_count(m) > 1);
        v.entry(sha.to_owned()).or_default().clone()
    };
    let _tenu = verrou.lock().await;
    if let Some(n) = deja_dessine(&dir).await {
        return Ok(n);
    }
    let octets = parafe_service::pipeline::lire_version(app, sha).await?;
    tokio::task::spawn_blocking(move || dessiner(octets, &dir)).await?
}

async fn deja_dessine(dir: &std::path::Path) -> Option<usize> {
    tokio::fs::read_to_string(dir.join("pages"))
        .await
        .ok()
        .and_then(|n| n.trim().parse().ok())
}

fn dessiner(octets: Vec<u8>, dir: &std::path::Path) -> Result<usize, Erreur> {
    use hayro::hayro_interpret::InterpreterSettings;
    use hayro::hayro_syntax::Pdf;
    use hayro::vello_cpu::color::palette::css::WHITE;
    use hayro::{render, PixmapSettings, RenderCache, RenderSettings};
    let pdf = Pdf::new(octets)
        .map_err(|e| Erreur::Interne(format!("PDF illisible pour l'aperçu : {e:?}")))?;
    let pages = pdf.pages();
    if pages.len() > PAGES_MAX {
        return Err(Erreur::Conflit(format!(
            "document de {} pages : trop long pour l'aperçu, téléchargez le PDF",
            pages.len()
        )));
    }
    let ecriture = Erreur::fichier("aperçu");
    std::fs::create_dir_all(dir).map_err(&ecriture)?;
    let cache = RenderCache::new();
    let reglages = InterpreterSettings::default();
    for (i, page) in pages.iter().enumerate() {
        let image = render(
            page,
            &cache,
            &reglages,
            &RenderSettings::default(),
            &PixmapSettings {
                x_scale: ECHELLE,
                y_scale: ECHELLE,
                bg_color: WHITE,
            },
        );
        let png = image
            .into_png()
            .map_err(|e| Erreur::Interne(format!("aperçu PNG : {e}")))?;
        parafe_core::files::write_durably(&dir.join(format!("{}.png", i + 1)), &png)
            .map_err(&ecriture)?;
    }
    parafe_core::files::write_durably(&dir.join("pages"), pages.len().to_string().as_bytes())
        .map_err(&ecriture)?;
    Ok(pages.len())
}

/// The number of pages of a version, without drawing them (the pictures come when asked).
pub async fn nombre_de_pages(app: &App, sha: &str) -> Result<usize, Erreur> {
    static CONNUS: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    sha_valide(sha)?;
    let connus = CONNUS.get_or_init(Default::default);
    if let Some(n) = connus.lock().ok().and_then(|c| c.get(sha).copied()) {
        return Ok(n);
    }
    let n = match deja_dessine(&dossier(app, sha)).await {
        Some(n) => n,
        None => {
            let octets = parafe_service::pipeline::lire_version(app, sha).await?;
            tokio::task::spawn_blocking(move || {
                hayro::hayro_syntax::Pdf::new(octets)
                    .map(|pdf| pdf.pages().len())
                    .map_err(|e| Erreur::Interne(format!("PDF illisible pour l'aperçu : {e:?}")))
            })
            .await??
        }
    };
    if let Ok(mut c) = connus.lock() {
        if c.len() > 10_000 {
            c.clear();
        }
        c.insert(sha.to_owned(), n);
    }
    Ok(n)
}

/// The PNG of page `n` (from 1) of a version.
pub async fn page(app: &App, sha: &str, n: usize) -> Result<Vec<u8>, Erreur> {
    let total = preparer(app, sha).await?;
    if n == 0 || n > total {
        return Err(Erreur::Introuvable(format!(
            "page {n} inexistante ({total} pages)"
        )));
    }
    tokio::fs::read(dossier(app, sha).join(format!("{n}.png")))
        .await
        .map_err(Erreur::fichier("aperçu illisible"))
}

/// An HTTP answer carrying a page picture (immutable: named by the version's hash).
pub fn reponse(png: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        png,
    )
        .into_response()
}
