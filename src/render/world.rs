//! The Typst world of a render: embedded templates and fonts only, the document's data as the
//! `donnees` input, a fixed date. Nothing here reads the file system or the network.

use chrono::{DateTime, Datelike, Utc};
use std::sync::OnceLock;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Dict, Duration, IntoValue};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Fonts parsed once per process: this is most of what makes a warm render fast.
struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        Fonts {
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
        }
    })
}

pub struct TemplateWorld {
    library: LazyHash<Library>,
    main: FileId,
    now: DateTime<Utc>,
}

impl TemplateWorld {
    /// `inputs` are the template's `sys.inputs` (`donnees`: the data as JSON, ...).
    pub fn new(template: &str, inputs: Vec<(&str, String)>, now: DateTime<Utc>) -> Option<Self> {
        let mut dict = Dict::new();
        for (key, value) in inputs {
            dict.insert(key.into(), value.into_value());
        }
        let main = file_id(&format!("/{template}.typ"))?;
        Some(Self {
            library: LazyHash::new(Library::builder().with_inputs(dict).build()),
            main,
            now,
        })
    }
}

fn file_id(path: &str) -> Option<FileId> {
    Some(RootedPath::new(VirtualRoot::Project, VirtualPath::new(path).ok()?).intern())
}

fn embedded(id: FileId) -> FileResult<&'static [u8]> {
    let path = id.vpath().get_without_slash();
    match id.root() {
        VirtualRoot::Project => crate::template::file(path),
        VirtualRoot::Package(_) => None,
    }
    .ok_or_else(|| FileError::NotFound(path.into()))
}

impl World for TemplateWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        let text = std::str::from_utf8(embedded(id)?).map_err(|_| FileError::InvalidUtf8)?;
        Ok(Source::new(id, text.to_owned()))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        embedded(id).map(Bytes::new)
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().fonts.get(index).cloned()
    }

    fn today(&self, offset: Option<Duration>) -> Option<Datetime> {
        // Documents are read in France: without an explicit offset, "today" is Europe/Paris.
        let date = match offset {
            Some(offset) => {
                (self.now + chrono::Duration::hours(offset.hours() as i64)).date_naive()
            }
            None => self
                .now
                .with_timezone(&chrono_tz::Europe::Paris)
                .date_naive(),
        };
        Datetime::from_ymd(date.year(), date.month() as u8, date.day() as u8)
    }
}
