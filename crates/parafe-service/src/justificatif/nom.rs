//! The name a piece keeps: what the person's computer called it, without what could mislead
//! whoever reads it later (a controller, a download dialog) or break a tool.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Longest name kept, in characters.
pub const NOM_MAX: usize = 200;

/// Longest ending taken for an extension when a name is cut.
const EXTENSION_MAX: usize = 10;

/// The name to keep for a file: without folder (`C:\…\bulletin.pdf`), without control or
/// invisible formatting characters (« facture<U+202E>fdp.exe », with the right-to-left
/// override, reads « factureexe.pdf »; isolates, zero-width marks, separators of lines), at
/// most [`NOM_MAX`] characters, cut before its extension so that it keeps it.
pub fn nom_de_fichier(brut: &str) -> String {
    let nom: String = brut
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| {
            !matches!(
                c.general_category(),
                GeneralCategory::Control
                    | GeneralCategory::Format
                    | GeneralCategory::LineSeparator
                    | GeneralCategory::ParagraphSeparator
            )
        })
        .collect();
    let nom = nom.trim();
    if nom.chars().count() <= NOM_MAX {
        return nom.to_owned();
    }
    let extension = nom.rsplit_once('.').map(|(_, e)| e).filter(|e| {
        (1..=EXTENSION_MAX).contains(&e.chars().count()) && e.chars().all(char::is_alphanumeric)
    });
    match extension {
        Some(e) => {
            let garde = NOM_MAX - 1 - e.chars().count();
            let debut: String = nom.chars().take(garde).collect();
            format!("{}.{e}", debut.trim_end())
        }
        None => nom
            .chars()
            .take(NOM_MAX)
            .collect::<String>()
            .trim_end()
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dossier_et_caracteres_invisibles_retires() {
        assert_eq!(
            nom_de_fichier("C:\\Mes documents\\bulletin.pdf"),
            "bulletin.pdf"
        );
        assert_eq!(
            nom_de_fichier("/tmp/x/ contrat cdi.pdf "),
            "contrat cdi.pdf"
        );
        assert_eq!(
            nom_de_fichier("facture\u{202E}fdp.exe\u{202C}\u{2066}\u{2069}\u{200B}\u{200F}\u{061C}\u{FEFF}\u{2028}.pdf"),
            "facturefdp.exe.pdf"
        );
        assert_eq!(
            nom_de_fichier("a\u{0}b\u{7}\u{1b}[31m\u{85}.pdf"),
            "ab[31m.pdf"
        );
        assert_eq!(
            nom_de_fichier("Attestation de réussite – CAP.pdf"),
            "Attestation de réussite – CAP.pdf"
        );
    }

    #[test]
    fn un_nom_trop_long_garde_son_extension() {
        let nom = nom_de_fichier(&format!("{}.pdf", "é".repeat(296)));
        assert_eq!(nom.chars().count(), NOM_MAX);
        assert!(nom.ends_with("éé.pdf"), "{nom}");
        let nom = nom_de_fichier(&format!("{} fin.jpeg", "a ".repeat(150)));
        assert!(
            nom.ends_with("a.jpeg") && nom.chars().count() <= NOM_MAX,
            "{nom}"
        );
        // Without a recognisable extension, simply cut.
        assert_eq!(nom_de_fichier(&"x".repeat(300)).len(), NOM_MAX);
        assert_eq!(nom_de_fichier(&"x".repeat(150)), "x".repeat(150));
    }
}
