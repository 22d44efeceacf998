//! CSV written for spreadsheets (the participants export, the pack's `manifeste.csv`): a cell
//! that Excel or LibreOffice would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage
//! return before one) is written as text, with a leading apostrophe as OWASP recommends against
//! « CSV injection ». The spreadsheet shows the value as typed; nothing is run or fetched.

use std::borrow::Cow;
use std::io::Write;

/// First characters with which a spreadsheet starts a formula, or skips to one.
const DECLENCHEURS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as a spreadsheet must read it: as text when it could start a formula.
pub fn cellule(valeur: &str) -> Cow<'_, str> {
    if valeur.starts_with(DECLENCHEURS) {
        Cow::Owned(format!("'{valeur}"))
    } else {
        Cow::Borrowed(valeur)
    }
}

/// Writes one line, every cell through [`cellule`] (the writer quotes what needs it).
pub fn ecrire_ligne<W: Write>(
    w: &mut csv::Writer<W>,
    cellules: impl IntoIterator<Item = impl AsRef<str>>,
) -> csv::Result<()> {
    for c in cellules {
        w.write_field(cellule(c.as_ref()).as_bytes())?;
    }
    w.write_record(None::<&[u8]>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formules_neutralisees_le_reste_intact() {
        for piege in ["=1+1", "+33 6", "-2", "@SOMME(A1)", "\t=1", "\r=1"] {
            assert_eq!(cellule(piege), format!("'{piege}"));
        }
        for sur in [
            "Benali",
            "",
            "04/03/2025",
            "3",
            "a=b",
            " =1",
            "participants/X/a.pdf",
        ] {
            assert_eq!(cellule(sur), sur);
        }
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(Vec::new());
        ecrire_ligne(&mut w, ["=HYPERLINK(\"x\";\"y\")", "Lunel"]).unwrap();
        assert_eq!(
            String::from_utf8(w.into_inner().unwrap()).unwrap(),
            "\"'=HYPERLINK(\"\"x\"\";\"\"y\"\")\";Lunel\n"
        );
    }
}
