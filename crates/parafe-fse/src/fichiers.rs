//! Where a programme's definition files come from: `<data-dir>/fse/<dossier>/<programme>.toml`
//! when a deployment has put one there, else the one embedded from the repository's `fse/`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The embedded files, by folder and programme.
const EMBARQUES: &[(&str, &str, &str)] = &[
    (
        "questionnaires",
        "pon-2014-2020",
        include_str!("../../../fse/questionnaires/pon-2014-2020.toml"),
    ),
    (
        "questionnaires",
        "fse-plus-2021-2027",
        include_str!("../../../fse/questionnaires/fse-plus-2021-2027.toml"),
    ),
    (
        "mdfse",
        "pon-2014-2020",
        include_str!("../../../fse/mdfse/pon-2014-2020.toml"),
    ),
    (
        "mdfse",
        "fse-plus-2021-2027",
        include_str!("../../../fse/mdfse/fse-plus-2021-2027.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    #[error("programme FSE « {0} » : nom invalide (minuscules, chiffres et tirets seulement)")]
    NomInvalide(String),
    #[error("programme FSE « {programme} » inconnu : ni {chemin}, ni définition embarquée")]
    Inconnu { programme: String, chemin: PathBuf },
    #[error("{chemin} illisible : {source}")]
    Lecture {
        chemin: PathBuf,
        source: std::io::Error,
    },
    #[error("{fichier} invalide : {message}")]
    Invalide { fichier: String, message: String },
}

impl DefinitionError {
    pub(crate) fn invalide(fichier: &str, message: impl Into<String>) -> DefinitionError {
        DefinitionError::Invalide {
            fichier: fichier.to_owned(),
            message: message.into(),
        }
    }
}

/// The text of `<dossier>/<programme>.toml` and the name to give it in errors: the data
/// directory's file if there is one (`data_dir` given), else the embedded one.
pub(crate) fn texte(
    data_dir: Option<&Path>,
    dossier: &str,
    programme: &str,
) -> Result<(Cow<'static, str>, String), DefinitionError> {
    // The programme names a file: nothing that could leave the folder.
    if programme.is_empty()
        || !programme
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(DefinitionError::NomInvalide(programme.to_owned()));
    }
    let relatif = Path::new("fse")
        .join(dossier)
        .join(format!("{programme}.toml"));
    if let Some(dir) = data_dir {
        let chemin = dir.join(&relatif);
        match std::fs::read_to_string(&chemin) {
            Ok(t) => return Ok((Cow::Owned(t), chemin.display().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(DefinitionError::Lecture { chemin, source }),
        }
    }
    EMBARQUES
        .iter()
        .find(|(d, p, _)| *d == dossier && *p == programme)
        .map(|(_, _, t)| {
            (
                Cow::Borrowed(*t),
                format!("{} (embarqué)", relatif.display()),
            )
        })
        .ok_or_else(|| DefinitionError::Inconnu {
            programme: programme.to_owned(),
            chemin: data_dir.unwrap_or(Path::new("<data-dir>")).join(relatif),
        })
}
