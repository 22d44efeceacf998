//! The first two stages of the pipeline: the catalogue of Typst templates embedded in the
//! binary with the validation of their data ([`template`]), then their composition into
//! PDF/A-3b ([`render`]).

pub mod render;
pub mod template;
