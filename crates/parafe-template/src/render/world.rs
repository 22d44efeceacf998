//! The Typst world of a render: embedded templates and fonts only, the document's data as the
//! virtual files `/donnees.json` and `/pieces-jointes.json`, the images it names under
//! `/images/`, a fixed date. Nothing here reads the file system or the network.
//!
//! Everything but the data is shared by all renders (library, fonts, parsed templates), so that
//! Typst's memoization reuses the evaluation of the common parts from one document to the next:
//! this is what makes a warm render fast.

use chrono::{DateTime, Datelike, Utc};
use std::collections::HashMap;
use std::sync::OnceLock;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// The virtual file holding the document's data.
const DONNEES: &str = "donnees.json";
/// The virtual file listing the files to attach to the PDF.
const PIECES_JOINTES: &str = "pieces-jointes.json";

struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    /// Embedded `.typ` files, parsed once.
    sources: HashMap<FileId, Source>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        let sources = crate::template::embedded_files()
            .filter(|(path, _)| path.ends_with(".typ"))
            .filter_map(|(path, bytes)| {
                let id = file_id(&format!("/{path}"))?;
                Some((
                    id,
                    Source::new(id, String::from_utf8_lossy(bytes).into_owned()),
                ))
            })
            .collect();
        Shared {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            sources,
        }
    })
}

pub struct TemplateWorld {
    main: FileId,
    donnees: Bytes,
    pieces_jointes: Bytes,
    images: HashMap<String, Bytes>,
    now: DateTime<Utc>,
}

impl TemplateWorld {
    pub fn new(
        template: &str,
        donnees: String,
        pieces_jointes: String,
        images: &[(String, Vec<u8>)],
        now: DateTime<Utc>,
    ) -> Option<Self> {
        Some(Self {
            main: file_id(&format!("/{template}.typ"))?,
            donnees: Bytes::from_string(donnees),
            pieces_jointes: Bytes::from_string(pieces_jointes),
            images: images
                .iter()
                .map(|(nom, octets)| (format!("images/{nom}"), Bytes::new(octets.clone())))
                .collect(),
            now,
        })
    }
}

fn file_id(path: &str) -> Option<FileId> {
    Some(RootedPath::new(VirtualRoot::Project, VirtualPath::new(path).ok()?).intern())
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_without_slash().into())
}

impl World for TemplateWorld {
    fn library(&self) -> &LazyHash<Library> {
        &shared().library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &shared().book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        shared()
            .sources
            .get(&id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id.root() != &VirtualRoot::Project {
            return Err(not_found(id));
        }
        match id.vpath().get_without_slash() {
            DONNEES => Ok(self.donnees.clone()),
            PIECES_JOINTES => Ok(self.pieces_jointes.clone()),
            path if path.starts_with("images/") => {
                self.images.get(path).cloned().ok_or_else(|| not_found(id))
            }
            path => crate::template::file(path)
                .map(Bytes::new)
                .ok_or_else(|| not_found(id)),
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        shared().fonts.get(index).cloned()
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
