//! Renders a template and its validated data into a PDF/A-3b document.
//!
//! PDF/A-3 rather than 2 because archived documents carry their evidence JSON as an associated
//! file. Rendering is deterministic: the same data and generation time give the same bytes.

mod world;

use crate::template::{self, Catalogue, TemplateError, Validated};
use chrono::{DateTime, Datelike, Timelike, Utc};
use parafe_core::model::{RenderedPdf, SealZone};
use serde_json::Value;
use std::sync::OnceLock;
use typst::foundations::{Datetime, Label, Smart};
use typst::introspection::Introspector;
use typst::utils::PicoStr;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};
use world::TemplateWorld;

/// A file attached to the PDF (PDF/A-3 associated file), such as the evidence JSON.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub description: String,
    pub json: Value,
}

/// Settings of one render.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The document's creation time: PDF metadata, and "today" inside the template. Fixed by the
    /// caller so that a document can be rendered again identically.
    pub generated_at: DateTime<Utc>,
    /// Associated files to embed.
    pub attachments: Vec<Attachment>,
    /// Images the data names (a PLIE's logo, `plie.logo`), served to the template as the
    /// virtual files `/images/<name>`.
    pub images: Vec<(String, Vec<u8>)>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            generated_at: Utc::now(),
            attachments: Vec::new(),
            images: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("le modèle « {template} » n'a pas pu être composé :\n{}", messages.join("\n"))]
    Typst {
        template: String,
        messages: Vec<String>,
    },
    #[error("catalogue des modèles indisponible : {0}")]
    Catalogue(&'static TemplateError),
    #[error("fils de composition indisponibles : {0}")]
    Pool(String),
}

/// Typst recurses deeply through layouts: 2 MB thread stacks (rayon's, tokio's blocking
/// threads) overflow on a sheet of signatures.
const TYPST_STACK: usize = 64 << 20;

/// The threads documents are rendered on, with stacks deep enough for Typst: render batches and
/// the service's renders inside `pool().install(…)`, never on a default thread.
pub fn pool() -> Result<&'static rayon::ThreadPool, String> {
    static POOL: OnceLock<Result<rayon::ThreadPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(TYPST_STACK)
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Validates `data` against the template's schema, then renders it.
pub fn render(
    template: &str,
    data: &Value,
    options: &RenderOptions,
) -> Result<RenderedPdf, RenderError> {
    let catalogue = Catalogue::embedded().map_err(RenderError::Catalogue)?;
    let schema = catalogue.get(template)?;
    let validated =
        template::validate(schema, data).map_err(|errors| TemplateError::InvalidData {
            template: template.to_owned(),
            errors,
        })?;
    render_validated(&validated, options)
}

/// [`render`] on the [`pool`] (blocking: call it from a blocking thread), then lets Typst forget
/// what none of the last `keep_recent` renders used. A long-running caller needs this: Typst's
/// memoized layouts otherwise pile up, one per document (4 GB after a minute of kiosk sheets);
/// 0 forgets a large document at once.
pub fn render_pooled(
    template: &str,
    data: &Value,
    options: &RenderOptions,
    keep_recent: usize,
) -> Result<RenderedPdf, RenderError> {
    let rendu = pool()
        .map_err(RenderError::Pool)?
        .install(|| render(template, data, options));
    comemo::evict(keep_recent);
    rendu
}

/// Renders data already checked against its template.
pub fn render_validated(
    validated: &Validated,
    options: &RenderOptions,
) -> Result<RenderedPdf, RenderError> {
    let (template, data) = (validated.template(), validated.pour_le_modele());

    let attachments: Vec<Value> = options
        .attachments
        .iter()
        .map(|a| serde_json::json!({ "nom": a.name, "description": a.description, "contenu": a.json.to_string() }))
        .collect();
    let typst_error = |messages: Vec<String>| RenderError::Typst {
        template: template.to_owned(),
        messages,
    };
    let world = TemplateWorld::new(
        template,
        data.to_string(),
        Value::Array(attachments).to_string(),
        &options.images,
        options.generated_at,
    )
    .ok_or_else(|| typst_error(vec!["nom de fichier de modèle invalide".into()]))?;

    let document: PagedDocument = typst::compile(&world)
        .output
        .map_err(|diags| typst_error(diags.iter().map(|d| d.message.to_string()).collect()))?;
    let pdf_options = PdfOptions {
        ident: Smart::Auto,
        timestamp: Some(Timestamp::new_utc(typst_datetime(options.generated_at))),
        standards: PdfStandards::new(&[PdfStandard::A_3b])
            .map_err(|e| typst_error(vec![e.message().to_string()]))?,
        ..PdfOptions::default()
    };
    let bytes = typst_pdf::pdf(&document, &pdf_options)
        .map_err(|diags| typst_error(diags.iter().map(|d| d.message.to_string()).collect()))?;
    Ok(RenderedPdf::new(template, bytes, seal_zone(&document)))
}

fn typst_datetime(t: DateTime<Utc>) -> Datetime {
    Datetime::from_ymd_hms(
        t.year(),
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )
    .unwrap_or_else(|| Datetime::from_ymd(1970, 1, 1).expect("date valide"))
}

/// The position of the `<zone-sceau>` box, converted to PDF coordinates (origin bottom left).
fn seal_zone(document: &PagedDocument) -> Option<SealZone> {
    let introspector = document.introspector();
    let content = introspector
        .query_label(Label::new(PicoStr::intern("zone-sceau"))?)
        .ok()?;
    let position = introspector.position(content.location()?)?;
    let page = position.page.get() - 1;
    let page_height = document.pages().get(page)?.frame.height().to_pt();
    // The box's size as written in the template (plain lengths, which Typst stores as relative
    // lengths with no relative part).
    let length = |name: &str| match content.field_by_name(name) {
        Ok(typst::foundations::Value::Length(l)) => l.abs.to_pt(),
        Ok(typst::foundations::Value::Relative(r)) => r.abs.abs.to_pt(),
        _ => 0.0,
    };
    let (x, top) = (position.point.x.to_pt(), position.point.y.to_pt());
    let (width, height) = (length("width"), length("height"));
    Some(SealZone {
        page,
        rect: [
            x as f32,
            (page_height - top - height) as f32,
            (x + width) as f32,
            (page_height - top) as f32,
        ],
    })
}
