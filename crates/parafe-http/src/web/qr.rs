//! QR codes drawn by the server as inline SVG (no outside service, no script): one path of unit
//! squares, a quiet zone of four modules, crisp edges at any size.

use maud::{Markup, PreEscaped};
use qrcode::{Color, EcLevel, QrCode};
use std::fmt::Write;

/// The quiet zone the standard asks around the code, in modules.
const MARGE: usize = 4;

/// The QR code of `texte` (error correction M: a screen photographed at an angle still reads).
pub fn svg(texte: &str, libelle: &str) -> Result<Markup, qrcode::types::QrError> {
    let code = QrCode::with_error_correction_level(texte.as_bytes(), EcLevel::M)?;
    let n = code.width();
    let cote = n + 2 * MARGE;
    let mut chemin = String::new();
    for (i, couleur) in code.to_colors().iter().enumerate() {
        if *couleur == Color::Dark {
            let _ = write!(chemin, "M{} {}h1v1h-1z", i % n + MARGE, i / n + MARGE);
        }
    }
    let libelle = maud::html! { (libelle) }.into_string();
    Ok(PreEscaped(format!(
        r##"<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {cote} {cote}" role="img" aria-label="{libelle}" shape-rendering="crispEdges"><rect width="{cote}" height="{cote}" fill="#fff"/><path d="{chemin}" fill="#000"/></svg>"##
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws the SVG's squares as a reader would see them, `echelle` pixels a module.
    fn pixels(svg: &str, echelle: usize) -> (usize, Vec<u8>) {
        let cote: usize = svg
            .split("viewBox=\"0 0 ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|c| c.parse().ok())
            .expect("viewBox");
        let largeur = cote * echelle;
        let mut image = vec![255u8; largeur * largeur];
        let chemin = svg
            .split(" d=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("path");
        for carre in chemin.split('M').filter(|c| !c.is_empty()) {
            let carre = carre.strip_suffix("h1v1h-1z").expect("carré d'un module");
            let (x, y) = carre.split_once(' ').expect("x y");
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            for dy in 0..echelle {
                for dx in 0..echelle {
                    image[(y * echelle + dy) * largeur + x * echelle + dx] = 0;
                }
            }
        }
        (largeur, image)
    }

    #[test]
    fn le_qr_code_dessine_se_relit_en_l_adresse_de_signature() {
        let url = "https://parafe.plie-exemple.fr/telephone/abcdefghijklmnopqrstuvwxyz234567";
        let svg = svg(url, "QR code « du lien » <signature>")
            .unwrap()
            .into_string();
        assert!(
            svg.contains("aria-label=\"QR code « du lien » &lt;signature&gt;\""),
            "{svg}"
        );
        let (largeur, image) = pixels(&svg, 4);
        let mut lue = rqrr::PreparedImage::prepare_from_greyscale(largeur, largeur, |x, y| {
            image[y * largeur + x]
        });
        let grilles = lue.detect_grids();
        assert_eq!(grilles.len(), 1, "un QR code attendu dans le dessin");
        let (_, contenu) = grilles[0].decode().expect("QR code illisible");
        assert_eq!(contenu, url);
    }
}
