//! The catalogue of document templates embedded in the binary, and the validation of the data
//! each one declares in its schema (`document-templates/<nom>.toml`).

mod schema;
mod validate;

pub use schema::{Field, Kind, Schema};
pub use validate::{validate, FieldError, Validated};

use std::collections::BTreeMap;
use std::sync::OnceLock;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

/// Why a template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("modèle inconnu « {name} » ; modèles disponibles : {}", available.join(", "))]
    Unknown {
        name: String,
        available: Vec<String>,
    },
    #[error("données invalides pour le modèle « {template} » :\n{}", errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    InvalidData {
        template: String,
        errors: Vec<FieldError>,
    },
    #[error("schéma de modèle invalide ({file}) : {message}")]
    BadSchema { file: String, message: String },
}

/// Every template shipped with this binary, by name (`contrat-engagement`, ...).
pub struct Catalogue {
    schemas: BTreeMap<String, Schema>,
}

impl Catalogue {
    /// The embedded catalogue, parsed once. A broken schema is a build defect, reported here
    /// (and caught by the tests) rather than at each render.
    pub fn embedded() -> Result<&'static Catalogue, &'static TemplateError> {
        static CATALOGUE: OnceLock<Result<Catalogue, TemplateError>> = OnceLock::new();
        CATALOGUE.get_or_init(Catalogue::load).as_ref()
    }

    fn load() -> Result<Catalogue, TemplateError> {
        let types = schema::parse_types(text("_types.toml").unwrap_or(""))?;
        let mut schemas = BTreeMap::new();
        for (path, bytes) in embedded::FILES {
            let Some(name) = path.strip_suffix(".toml") else {
                continue;
            };
            if name.contains('/') || name.starts_with('_') {
                continue;
            }
            if file(&format!("{name}.typ")).is_none() {
                return Err(TemplateError::BadSchema {
                    file: path.to_string(),
                    message: format!("le modèle {name}.typ est absent"),
                });
            }
            let source = std::str::from_utf8(bytes).unwrap_or("");
            schemas.insert(name.to_owned(), schema::parse_schema(name, source, &types)?);
        }
        Ok(Catalogue { schemas })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.schemas.keys().map(String::as_str)
    }

    pub fn get(&self, name: &str) -> Result<&Schema, TemplateError> {
        self.schemas
            .get(name)
            .ok_or_else(|| TemplateError::Unknown {
                name: name.to_owned(),
                available: self.names().map(str::to_owned).collect(),
            })
    }

    /// The template whose name is the longest prefix of `stem` (`emargement-collectif-20` →
    /// `emargement-collectif`): how bulk rendering pairs data files with templates.
    pub fn for_file_stem(&self, stem: &str) -> Option<&Schema> {
        self.schemas
            .iter()
            .filter(|(name, _)| {
                stem == name.as_str()
                    || stem
                        .strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.starts_with('-'))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(_, schema)| schema)
    }
}

/// An embedded file of `document-templates/`, by its path relative to that folder.
pub fn file(path: &str) -> Option<&'static [u8]> {
    embedded::FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, bytes)| *bytes)
}

fn text(path: &str) -> Option<&'static str> {
    file(path).and_then(|b| std::str::from_utf8(b).ok())
}

/// Every embedded file, for tools that need the templates on disk (the CLI benchmark).
pub fn embedded_files() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    embedded::FILES.iter().copied()
}
