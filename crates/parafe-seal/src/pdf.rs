//! Append-only PDF writing: each seal step is an incremental update after the original bytes,
//! which are never rewritten. Knows PDF syntax (objects, cross-reference sections, signature
//! fields, DSS) and nothing of cryptography: the /Contents of a signature is reserved here as a
//! zero-filled hex string and filled later with whatever bytes the caller brings.

use chrono::{DateTime, Utc};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat};
use sha2::{Digest, Sha256};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("ce fichier n'est pas un PDF lisible ({0})")]
    Unreadable(String),
    #[error("ce PDF est chiffré : le scellement d'un PDF chiffré n'est pas pris en charge")]
    Encrypted,
    #[error("structure PDF inattendue : {0}")]
    Structure(String),
    #[error(
        "la signature ({needed} octets) dépasse la place réservée dans le PDF ({reserved} octets)"
    )]
    TooLarge { needed: usize, reserved: usize },
}

fn structure(message: impl Into<String>) -> PdfError {
    PdfError::Structure(message.into())
}

/// What goes in the signature dictionary.
pub enum SigKind {
    /// A PAdES signature (SubFilter ETSI.CAdES.detached).
    Signature {
        name: String,
        reason: String,
        time: DateTime<Utc>,
    },
    /// A document timestamp (SubFilter ETSI.RFC3161), for PAdES B-LTA.
    DocTimeStamp,
}

/// Where the signature widget goes. A zero rect makes it invisible.
#[derive(Clone, Copy)]
pub struct Widget {
    /// Page index, from 0.
    pub page: usize,
    pub rect: [f32; 4],
}

/// Validation material for the document security store (PAdES B-LT).
#[derive(Default)]
pub struct Dss {
    pub certs: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

/// A signature revision written with its /Contents still to fill.
pub struct Prepared {
    byte_range: [usize; 4],
    /// Offset of the first hex digit inside `<…>`.
    hex_at: usize,
    reserved: usize,
}

/// A PDF being extended, with a parsed view of its latest revision.
pub struct PdfFile {
    bytes: Vec<u8>,
    doc: Document,
    xref_stream: bool,
    next_id: u32,
    startxref: usize,
}

impl PdfFile {
    pub fn parse(bytes: &[u8]) -> Result<Self, PdfError> {
        if !bytes.starts_with(b"%PDF-") {
            return Err(PdfError::Unreadable("en-tête %PDF- absent".into()));
        }
        let doc = load_strict(bytes).map_err(PdfError::Unreadable)?;
        if doc.trailer.get(b"Encrypt").is_ok() {
            return Err(PdfError::Encrypted);
        }
        let size = doc
            .trailer
            .get(b"Size")
            .and_then(Object::as_i64)
            .unwrap_or(0);
        let next_id = u32::try_from(size)
            .unwrap_or(0)
            .max(doc.max_id.saturating_add(1));
        Ok(Self {
            bytes: bytes.to_vec(),
            xref_stream: matches!(
                doc.reference_table.cross_reference_type,
                lopdf::xref::XrefType::CrossReferenceStream
            ),
            startxref: doc.xref_start,
            doc,
            next_id,
        })
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn page_count(&self) -> usize {
        self.doc.get_pages().len()
    }

    fn alloc(&mut self) -> Result<ObjectId, PdfError> {
        let id = self.next_id;
        self.next_id = id
            .checked_add(1)
            .ok_or_else(|| structure("plus de numéros d'objet libres"))?;
        Ok((id, 0))
    }

    fn dictionary(&self, id: ObjectId) -> Result<Dictionary, PdfError> {
        self.doc
            .get_dictionary(id)
            .cloned()
            .map_err(|e| structure(format!("objet {} {} : {e}", id.0, id.1)))
    }

    fn catalog_id(&self) -> Result<ObjectId, PdfError> {
        self.doc
            .trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| structure("catalogue (/Root) introuvable"))
    }

    /// Appends `item` to the array at `key` of `dict`, whether inline, indirect or absent.
    fn push_to_array(
        &self,
        dict: &mut Dictionary,
        key: &[u8],
        item: Object,
        changed: &mut Vec<(ObjectId, Object)>,
    ) -> Result<(), PdfError> {
        match dict.get(key) {
            Ok(Object::Reference(id)) => {
                let mut array = self
                    .doc
                    .get_object(*id)
                    .and_then(Object::as_array)
                    .cloned()
                    .map_err(|e| structure(e.to_string()))?;
                array.push(item);
                changed.push((*id, Object::Array(array)));
            }
            Ok(Object::Array(array)) => {
                let mut array = array.clone();
                array.push(item);
                dict.set(key, array);
            }
            _ => dict.set(key, vec![item]),
        }
        Ok(())
    }

    /// Names of the existing form fields, to give the new one a unique /T.
    fn field_names(&self) -> Vec<Vec<u8>> {
        let Ok(catalog) = self.catalog_id().and_then(|id| self.dictionary(id)) else {
            return Vec::new();
        };
        let acroform = match catalog.get(b"AcroForm") {
            Ok(Object::Reference(id)) => self.doc.get_dictionary(*id).ok(),
            Ok(Object::Dictionary(d)) => Some(d),
            _ => None,
        };
        let fields = acroform
            .and_then(|a| a.get(b"Fields").ok())
            .and_then(|f| match f {
                Object::Reference(id) => self.doc.get_object(*id).and_then(Object::as_array).ok(),
                Object::Array(a) => Some(a),
                _ => None,
            });
        fields
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_reference().ok())
            .filter_map(|id| self.doc.get_dictionary(id).ok())
            .filter_map(|d| {
                d.get(b"T")
                    .and_then(Object::as_str)
                    .ok()
                    .map(<[u8]>::to_vec)
            })
            .collect()
    }

    fn unique_name(&self, base: &str) -> String {
        let names = self.field_names();
        (1..)
            .map(|i| {
                if i == 1 {
                    base.to_owned()
                } else {
                    format!("{base}{i}")
                }
            })
            .find(|n| !names.contains(&n.as_bytes().to_vec()))
            .unwrap_or_else(|| base.to_owned())
    }

    /// Appends an incremental update holding a signature field on `widget`, its signature
    /// dictionary with `reserved` bytes of /Contents, and the DSS if given.
    pub fn append_signature(
        &mut self,
        kind: &SigKind,
        widget: Widget,
        reserved: usize,
        dss: Option<&Dss>,
    ) -> Result<Prepared, PdfError> {
        let pages = self.doc.get_pages();
        let page_id = *pages.values().nth(widget.page).ok_or_else(|| {
            structure(format!(
                "page {} absente (le document en a {})",
                widget.page + 1,
                pages.len()
            ))
        })?;
        let catalog_id = self.catalog_id()?;
        let mut catalog = self.dictionary(catalog_id)?;
        let mut page = self.dictionary(page_id)?;
        let mut changed: Vec<(ObjectId, Object)> = Vec::new();

        let sig_id = self.alloc()?;
        let field_id = self.alloc()?;
        let ap_id = self.alloc()?;
        let name = self.unique_name(match kind {
            SigKind::Signature { .. } => "Cachet",
            SigKind::DocTimeStamp => "Horodatage",
        });
        let [x1, y1, x2, y2] = widget.rect;
        let (w, h) = ((x2 - x1).max(0.0), (y2 - y1).max(0.0));
        // An empty appearance: PDF/A wants one on every annotation, and the visible text of the
        // seal is already part of the page content, drawn with the document's own fonts.
        let mut ap_dict = Dictionary::new();
        ap_dict.set("Type", Object::Name(b"XObject".to_vec()));
        ap_dict.set("Subtype", Object::Name(b"Form".to_vec()));
        ap_dict.set(
            "BBox",
            vec![0.into(), 0.into(), Object::Real(w), Object::Real(h)],
        );
        ap_dict.set("Resources", Dictionary::new());
        let ap = Stream::new(ap_dict, Vec::new());

        let mut field = Dictionary::new();
        field.set("Type", Object::Name(b"Annot".to_vec()));
        field.set("Subtype", Object::Name(b"Widget".to_vec()));
        field.set("FT", Object::Name(b"Sig".to_vec()));
        field.set(
            "T",
            Object::String(name.into_bytes(), StringFormat::Literal),
        );
        field.set("V", Object::Reference(sig_id));
        // Print (PDF/A requires it) + Locked.
        field.set("F", 132);
        field.set(
            "Rect",
            vec![
                Object::Real(x1),
                Object::Real(y1),
                Object::Real(x2),
                Object::Real(y2),
            ],
        );
        field.set("P", Object::Reference(page_id));
        let mut ap_entry = Dictionary::new();
        ap_entry.set("N", Object::Reference(ap_id));
        field.set("AP", ap_entry);

        self.push_to_array(
            &mut page,
            b"Annots",
            Object::Reference(field_id),
            &mut changed,
        )?;
        changed.push((page_id, Object::Dictionary(page)));

        // The signature field joins the form, wherever the original keeps it: an indirect
        // AcroForm is rewritten as a changed object, an inline one inside the catalog.
        let (indirect, mut acroform) = match catalog.get(b"AcroForm").cloned() {
            Ok(Object::Reference(id)) => (Some(id), self.dictionary(id)?),
            Ok(Object::Dictionary(acroform)) => (None, acroform),
            _ => (Some(self.alloc()?), Dictionary::new()),
        };
        self.push_to_array(
            &mut acroform,
            b"Fields",
            Object::Reference(field_id),
            &mut changed,
        )?;
        acroform.set("SigFlags", 3);
        match indirect {
            Some(id) => {
                changed.push((id, Object::Dictionary(acroform)));
                catalog.set("AcroForm", Object::Reference(id));
            }
            None => catalog.set("AcroForm", acroform),
        }
        if let Some(dss) = dss {
            let dss_id = self.dss(&catalog, dss, &mut changed)?;
            catalog.set("DSS", Object::Reference(dss_id));
        }
        changed.push((catalog_id, Object::Dictionary(catalog)));
        changed.push((field_id, Object::Dictionary(field)));
        changed.push((ap_id, Object::Stream(ap)));

        if !self.bytes.ends_with(b"\n") && !self.bytes.ends_with(b"\r") {
            self.bytes.push(b'\n');
        }
        let mut offsets = Vec::new();
        for (id, object) in &changed {
            self.write_object(*id, object, &mut offsets)?;
        }
        let (byte_range_at, hex_at) = self.write_sig_dict(sig_id, kind, reserved, &mut offsets);
        self.write_xref(offsets)?;
        for (id, object) in changed {
            self.doc.objects.insert(id, object);
        }

        let contents_end = hex_at + 2 * reserved + 1;
        let byte_range = [0, hex_at - 1, contents_end, self.bytes.len() - contents_end];
        let text = format!("[0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]);
        let patched = format!("{text:<width$}]", width = BYTE_RANGE_PLACEHOLDER.len() - 1);
        self.bytes[byte_range_at..byte_range_at + patched.len()]
            .copy_from_slice(patched.as_bytes());
        Ok(Prepared {
            byte_range,
            hex_at,
            reserved,
        })
    }

    /// A new DSS holding the previous one's entries and `dss`'s, each certificate and CRL a stream.
    fn dss(
        &mut self,
        catalog: &Dictionary,
        dss: &Dss,
        changed: &mut Vec<(ObjectId, Object)>,
    ) -> Result<ObjectId, PdfError> {
        let previous = match catalog.get(b"DSS") {
            Ok(Object::Reference(id)) => Some(self.dictionary(*id)?),
            Ok(Object::Dictionary(d)) => Some(d.clone()),
            _ => None,
        };
        let mut out = Dictionary::new();
        out.set("Type", Object::Name(b"DSS".to_vec()));
        for (key, items) in [(&b"Certs"[..], &dss.certs), (&b"CRLs"[..], &dss.crls)] {
            let mut array = previous
                .as_ref()
                .and_then(|d| d.get(key).ok())
                .and_then(|a| match a {
                    Object::Reference(id) => self
                        .doc
                        .get_object(*id)
                        .and_then(Object::as_array)
                        .ok()
                        .cloned(),
                    Object::Array(a) => Some(a.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for der in items {
                let id = self.alloc()?;
                changed.push((
                    id,
                    Object::Stream(Stream::new(Dictionary::new(), der.clone())),
                ));
                array.push(Object::Reference(id));
            }
            if !array.is_empty() {
                out.set(key, array);
            }
        }
        let id = self.alloc()?;
        changed.push((id, Object::Dictionary(out)));
        Ok(id)
    }

    fn write_object(
        &mut self,
        id: ObjectId,
        object: &Object,
        offsets: &mut Vec<(ObjectId, usize)>,
    ) -> Result<(), PdfError> {
        offsets.push((id, self.bytes.len()));
        self.bytes
            .extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
        lopdf::Writer::write_object(&mut self.bytes, object)
            .map_err(|e| structure(e.to_string()))?;
        self.bytes.extend_from_slice(b"\nendobj\n");
        Ok(())
    }

    /// Writes the signature dictionary by hand, to know where /ByteRange and /Contents are.
    fn write_sig_dict(
        &mut self,
        id: ObjectId,
        kind: &SigKind,
        reserved: usize,
        offsets: &mut Vec<(ObjectId, usize)>,
    ) -> (usize, usize) {
        offsets.push((id, self.bytes.len()));
        let head = match kind {
            SigKind::Signature { name, reason, time } => format!(
                "{} 0 obj\n<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/Name{}/Reason{}/M({})/ByteRange",
                id.0,
                utf16_hex(name),
                utf16_hex(reason),
                time.format("D:%Y%m%d%H%M%SZ")
            ),
            SigKind::DocTimeStamp => format!("{} 0 obj\n<</Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161/ByteRange", id.0),
        };
        self.bytes.extend_from_slice(head.as_bytes());
        let byte_range_at = self.bytes.len();
        self.bytes
            .extend_from_slice(BYTE_RANGE_PLACEHOLDER.as_bytes());
        self.bytes.extend_from_slice(b"/Contents<");
        let hex_at = self.bytes.len();
        self.bytes.resize(hex_at + 2 * reserved, b'0');
        self.bytes.extend_from_slice(b">>>\nendobj\n");
        (byte_range_at, hex_at)
    }

    /// The cross-reference section of the update, in the style of the original file.
    fn write_xref(&mut self, mut offsets: Vec<(ObjectId, usize)>) -> Result<(), PdfError> {
        let mut trailer = Dictionary::new();
        for key in [&b"Root"[..], b"Info", b"ID"] {
            if let Ok(value) = self.doc.trailer.get(key) {
                trailer.set(key, value.clone());
            }
        }
        trailer.set("Prev", self.startxref as i64);
        let xref_at;
        if self.xref_stream {
            let xref_id = self.alloc()?;
            xref_at = self.bytes.len();
            offsets.push((xref_id, xref_at));
            offsets.sort();
            let mut data = Vec::with_capacity(offsets.len() * 7);
            for ((_, generation), offset) in &offsets {
                let offset =
                    u32::try_from(*offset).map_err(|_| structure("fichier de plus de 4 Gio"))?;
                data.push(1);
                data.extend_from_slice(&offset.to_be_bytes());
                data.extend_from_slice(&(*generation).to_be_bytes());
            }
            trailer.set("Type", Object::Name(b"XRef".to_vec()));
            trailer.set("Size", self.next_id as i64);
            trailer.set("W", vec![1.into(), 4.into(), 2.into()]);
            trailer.set(
                "Index",
                runs(&offsets)
                    .into_iter()
                    .flat_map(|(s, n)| [Object::from(s as i64), Object::from(n as i64)])
                    .collect::<Vec<_>>(),
            );
            let stream = Object::Stream(Stream::new(trailer, data));
            self.bytes
                .extend_from_slice(format!("{} 0 obj\n", xref_id.0).as_bytes());
            lopdf::Writer::write_object(&mut self.bytes, &stream)
                .map_err(|e| structure(e.to_string()))?;
            self.bytes.extend_from_slice(b"\nendobj\n");
        } else {
            offsets.sort();
            xref_at = self.bytes.len();
            self.bytes.extend_from_slice(b"xref\n");
            let mut rest = offsets.as_slice();
            for (start, count) in runs(&offsets) {
                self.bytes
                    .extend_from_slice(format!("{start} {count}\n").as_bytes());
                let (run, tail) = rest.split_at(count);
                for ((_, generation), offset) in run {
                    self.bytes.extend_from_slice(
                        format!("{offset:010} {generation:05} n\r\n").as_bytes(),
                    );
                }
                rest = tail;
            }
            trailer.set("Size", self.next_id as i64);
            self.bytes.extend_from_slice(b"trailer\n");
            lopdf::Writer::write_object(&mut self.bytes, &Object::Dictionary(trailer))
                .map_err(|e| structure(e.to_string()))?;
            self.bytes.push(b'\n');
        }
        self.bytes
            .extend_from_slice(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes());
        self.startxref = xref_at;
        Ok(())
    }

    /// SHA-256 of the bytes a prepared signature covers.
    pub fn signed_digest(&self, prepared: &Prepared) -> [u8; 32] {
        let [a, b, c, d] = prepared.byte_range;
        let mut hasher = Sha256::new();
        hasher.update(&self.bytes[a..a + b]);
        hasher.update(&self.bytes[c..c + d]);
        hasher.finalize().into()
    }

    /// Puts the signature's DER into the reserved /Contents (the rest stays zero padding).
    pub fn fill(&mut self, prepared: Prepared, der: &[u8]) -> Result<(), PdfError> {
        if der.len() > prepared.reserved {
            return Err(PdfError::TooLarge {
                needed: der.len(),
                reserved: prepared.reserved,
            });
        }
        let hex = hex::encode_upper(der);
        self.bytes[prepared.hex_at..prepared.hex_at + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(())
    }
}

/// Parses a PDF as written, without the repairs lopdf would otherwise make: a seal must not be
/// appended to, nor a verification judge, a structure rebuilt from guesses.
pub fn load_strict(bytes: &[u8]) -> Result<Document, String> {
    let options = lopdf::LoadOptions {
        strict: true,
        ..Default::default()
    };
    let doc = Document::load_mem_with_options(bytes, options).map_err(|e| e.to_string())?;
    match doc.xref_recovery {
        None => Ok(doc),
        Some(_) => Err("table des références croisées endommagée".into()),
    }
}

/// `[0 ` and three 10-digit numbers: room for any offset below 10 GB.
const BYTE_RANGE_PLACEHOLDER: &str = "[0 0000000000 0000000000 0000000000]";

/// Consecutive object numbers as (first, count) subsections.
fn runs(sorted: &[(ObjectId, usize)]) -> Vec<(u32, usize)> {
    let mut out: Vec<(u32, usize)> = Vec::new();
    for ((id, _), _) in sorted {
        match out.last_mut() {
            Some((start, count)) if u64::from(*start) + *count as u64 == u64::from(*id) => {
                *count += 1
            }
            _ => out.push((*id, 1)),
        }
    }
    out
}

/// A PDF text string in UTF-16BE with its byte order mark, as hex.
fn utf16_hex(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        out.push_str(&format!("{unit:04X}"));
    }
    out.push('>');
    out
}

// Reading by ranges, for verification. A signed PDF may be large (a scanned justificatif, 1 GB):
// what a verification needs is its structure, the /Contents of each signature and the hash of
// its byte ranges, taken as a stream. So only the cross-reference sections and the objects are
// read, at the offsets the file gives, and the data of a stream stays in the file: the parsed
// stream keeps its place (`start_position`) and an empty content. Two revisions of one file that
// share an object share its place, hence its bytes. lopdf cannot read a file this way (it loads
// the whole file); it still parses each object, through an object stream holding only it.

/// The text of one object, outside its stream data.
const OBJET_MAX: usize = 16 << 20;
/// Object and cross-reference streams are read whole and decoded: bounded both ways.
const FLUX_STRUCTURE_MAX: usize = 64 << 20;
/// Stream data read on demand (certificates and revocation lists of the DSS).
pub const FLUX_LU_MAX: u64 = 4 << 20;
/// Cross-reference entries of one revision, and sections (revisions) followed.
const ENTREES_MAX: usize = 2_000_000;
const SECTIONS_MAX: usize = 4096;
/// What one revision's structure may hold in memory.
pub const STRUCTURE_MAX: usize = 256 << 20;

/// A cross-reference entry.
#[derive(Clone, Copy)]
enum Entree {
    Libre,
    Normale { offset: u64, generation: u16 },
    Compressee { conteneur: u32 },
}

/// A PDF read from `source` by ranges.
pub struct Lecteur<R> {
    source: R,
    taille: u64,
    /// Data length of each stream read, by data offset, to read it on demand.
    longueurs: HashMap<u64, u64>,
}

/// Why a scan of PDF syntax stopped: the window ended first (read more), or the syntax is wrong.
enum Arret {
    Incomplet,
    Faux(String),
}

type Scan<T> = Result<T, Arret>;

fn faux<T>(message: impl Into<String>) -> Scan<T> {
    Err(Arret::Faux(message.into()))
}

fn est_blanc(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn est_regulier(b: u8) -> bool {
    !est_blanc(b) && !b"()<>[]{}/%".contains(&b)
}

/// A position in a window of the file.
#[derive(Clone, Copy)]
struct Curseur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Curseur<'a> {
    fn reste(&self) -> &'a [u8] {
        self.b.get(self.i..).unwrap_or_default()
    }

    /// Skips white space and comments.
    fn blancs(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if est_blanc(c) {
                self.i += 1;
            } else if c == b'%' {
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|&c| c != b'\r' && c != b'\n')
                {
                    self.i += 1;
                }
            } else {
                return;
            }
        }
    }

    fn octet(&self) -> Scan<u8> {
        self.b.get(self.i).copied().ok_or(Arret::Incomplet)
    }

    fn commence(&self, mot: &[u8]) -> Scan<bool> {
        let reste = self.reste();
        if reste.len() < mot.len() && mot.starts_with(reste) {
            return Err(Arret::Incomplet);
        }
        Ok(reste.starts_with(mot))
    }

    /// A run of regular characters (number, keyword); it must not touch the window's end,
    /// where it could go on.
    fn mot(&mut self) -> Scan<&'a [u8]> {
        self.blancs();
        let debut = self.i;
        while self.b.get(self.i).copied().is_some_and(est_regulier) {
            self.i += 1;
        }
        if self.i >= self.b.len() {
            return Err(Arret::Incomplet);
        }
        if self.i == debut {
            return faux(format!(
                "caractère « {} » inattendu",
                self.b[self.i] as char
            ));
        }
        Ok(&self.b[debut..self.i])
    }

    fn entier(&mut self) -> Scan<u64> {
        let mot = self.mot()?;
        std::str::from_utf8(mot)
            .ok()
            .filter(|m| m.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|m| m.parse().ok())
            .map_or_else(
                || {
                    faux(format!(
                        "nombre attendu, « {} » trouvé",
                        String::from_utf8_lossy(mot)
                    ))
                },
                Ok,
            )
    }

    fn mot_cle(&mut self, attendu: &str) -> Scan<()> {
        let mot = self.mot()?;
        if mot != attendu.as_bytes() {
            return faux(format!(
                "« {attendu} » attendu, « {} » trouvé",
                String::from_utf8_lossy(mot)
            ));
        }
        Ok(())
    }

    /// Skips one value: dictionary, array, string, name, number or keyword.
    fn valeur(&mut self, profondeur: usize) -> Scan<()> {
        if profondeur > 64 {
            return faux("imbrication trop profonde");
        }
        self.blancs();
        match self.octet()? {
            b'<' if self.commence(b"<<")? => {
                self.i += 2;
                loop {
                    self.blancs();
                    if self.commence(b">>")? {
                        self.i += 2;
                        return Ok(());
                    }
                    self.valeur(profondeur + 1)?;
                }
            }
            b'<' => loop {
                self.i += 1;
                match self.octet()? {
                    b'>' => {
                        self.i += 1;
                        return Ok(());
                    }
                    c if c.is_ascii_hexdigit() || est_blanc(c) => {}
                    c => return faux(format!("« {} » dans une chaîne hexadécimale", c as char)),
                }
            },
            b'[' => {
                self.i += 1;
                loop {
                    self.blancs();
                    if self.octet()? == b']' {
                        self.i += 1;
                        return Ok(());
                    }
                    self.valeur(profondeur + 1)?;
                }
            }
            b'(' => {
                let mut ouvertes = 0usize;
                loop {
                    match self.octet()? {
                        b'\\' => self.i += 1,
                        b'(' => ouvertes += 1,
                        b')' => {
                            ouvertes -= 1;
                            if ouvertes == 0 {
                                self.i += 1;
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            b'/' => {
                self.i += 1;
                while self.b.get(self.i).copied().is_some_and(est_regulier) {
                    self.i += 1;
                }
                if self.i >= self.b.len() {
                    return Err(Arret::Incomplet);
                }
                Ok(())
            }
            _ => self.mot().map(drop),
        }
    }

    /// The value of an indirect object, where `12 0 R` is one value.
    fn valeur_objet(&mut self) -> Scan<()> {
        self.blancs();
        let debut = self.i;
        self.valeur(0)?;
        let premier = &self.b[debut..self.i];
        if premier.is_empty() || !premier.iter().all(u8::is_ascii_digit) {
            return Ok(());
        }
        let mut suite = *self;
        match suite.mot() {
            Ok(g) if !g.is_empty() && g.iter().all(u8::is_ascii_digit) => {}
            Err(Arret::Incomplet) => return Err(Arret::Incomplet),
            _ => return Ok(()),
        }
        match suite.mot() {
            Ok(b"R") => *self = suite,
            Err(Arret::Incomplet) => return Err(Arret::Incomplet),
            _ => {}
        }
        Ok(())
    }
}

/// Parses one direct object with lopdf's parser, by way of an object stream holding only it.
fn objet_direct(texte: &[u8]) -> Scan<Object> {
    let mut contenu = b"1 0\n".to_vec();
    let premier = contenu.len() as i64;
    contenu.extend_from_slice(texte);
    contenu.push(b'\n');
    let flux = Stream::new(
        lopdf::dictionary! {"Type" => "ObjStm", "N" => 1, "First" => premier},
        contenu,
    );
    lopdf::ObjectStream::new_with_limit(&flux, Some(OBJET_MAX))
        .ok()
        .and_then(|mut o| o.objects.remove(&(1, 0)))
        .map_or_else(|| faux("objet illisible"), Ok)
}

/// The entries of a cross-reference stream (PDF 32000-1 § 7.5.8), decoded.
fn entrees_du_flux(dict: &Dictionary, donnees: &[u8]) -> Result<Vec<(u32, Entree)>, String> {
    let largeurs: Vec<usize> = dict
        .get(b"W")
        .and_then(Object::as_array)
        .map_err(|_| "/W absent".to_string())?
        .iter()
        .map(|o| {
            o.as_i64()
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n <= 8)
        })
        .collect::<Option<_>>()
        .ok_or("/W doit être fait d'entiers de 0 à 8")?;
    let [w0, w1, w2] =
        <[usize; 3]>::try_from(largeurs).map_err(|_| "/W doit compter 3 entiers".to_string())?;
    let largeur = w0 + w1 + w2;
    if largeur == 0 {
        return Err("/W vaut [0 0 0]".into());
    }
    let entier = |o: &Object| {
        o.as_i64()
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("/Size ou /Index n'est pas un entier positif")
    };
    let index: Vec<u32> = match dict.get(b"Index") {
        Ok(o) => o
            .as_array()
            .map_err(|_| "/Index n'est pas un tableau")?
            .iter()
            .map(entier)
            .collect::<Result<_, _>>()?,
        Err(_) => vec![0, entier(dict.get(b"Size").map_err(|_| "/Size absent")?)?],
    };
    if !index.len().is_multiple_of(2) {
        return Err("/Index doit compter des paires".into());
    }
    let mut lignes = donnees.chunks_exact(largeur);
    let mut out = Vec::new();
    for paire in index.chunks_exact(2) {
        for k in 0..paire[1] {
            if out.len() >= ENTREES_MAX {
                return Err(format!("plus de {ENTREES_MAX} entrées"));
            }
            let ligne = lignes
                .next()
                .ok_or("flux plus court que son /Index ne l'annonce")?;
            let champ = |de: usize, n: usize| {
                ligne[de..de + n]
                    .iter()
                    .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
            };
            let genre = if w0 == 0 { 1 } else { champ(0, w0) };
            let (deuxieme, troisieme) = (champ(w0, w1), champ(w0 + w1, w2));
            let id = paire[0].checked_add(k).ok_or("numéro d'objet trop grand")?;
            let entree = match genre {
                1 => Entree::Normale {
                    offset: deuxieme,
                    generation: u16::try_from(troisieme).map_err(|_| "génération trop grande")?,
                },
                2 => Entree::Compressee {
                    conteneur: u32::try_from(deuxieme).map_err(|_| "numéro d'objet trop grand")?,
                },
                _ => Entree::Libre,
            };
            out.push((id, entree));
        }
    }
    Ok(out)
}

/// An offset read in the file, which must lie before `fin`.
fn offset(o: &Object, fin: u64) -> Result<u64, String> {
    o.as_i64()
        .ok()
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| n < fin)
        .ok_or_else(|| format!("offset {o:?} hors du fichier"))
}

impl<R: Read + Seek> Lecteur<R> {
    pub fn new(mut source: R) -> std::io::Result<Self> {
        let taille = source.seek(SeekFrom::End(0))?;
        Ok(Self {
            source,
            taille,
            longueurs: HashMap::new(),
        })
    }

    pub fn taille(&self) -> u64 {
        self.taille
    }

    /// Up to `n` bytes from `pos`, fewer if `fin` comes first.
    pub fn lire(&mut self, pos: u64, n: usize, fin: u64) -> Result<Vec<u8>, String> {
        let fin = fin.min(self.taille);
        let n = usize::try_from(fin.saturating_sub(pos)).map_or(n, |reste| reste.min(n));
        let mut octets = vec![0; n];
        self.source
            .seek(SeekFrom::Start(pos))
            .and_then(|_| self.source.read_exact(&mut octets))
            .map_err(|e| format!("lecture impossible à l'octet {pos} ({e})"))?;
        Ok(octets)
    }

    /// Feeds `f` with the bytes of each range (start, length) in turn, through a fixed buffer.
    pub fn parcourir(
        &mut self,
        plages: &[(u64, u64)],
        mut f: impl FnMut(&[u8]),
    ) -> Result<(), String> {
        let mut tampon = vec![0u8; 256 * 1024];
        for &(debut, longueur) in plages {
            if debut
                .checked_add(longueur)
                .is_none_or(|fin| fin > self.taille)
            {
                return Err(format!("plage {debut} + {longueur} hors du fichier"));
            }
            self.source
                .seek(SeekFrom::Start(debut))
                .map_err(|e| format!("lecture impossible à l'octet {debut} ({e})"))?;
            let mut reste = longueur;
            while reste > 0 {
                let n = usize::try_from(reste).map_or(tampon.len(), |r| r.min(tampon.len()));
                self.source
                    .read_exact(&mut tampon[..n])
                    .map_err(|e| format!("lecture impossible ({e})"))?;
                f(&tampon[..n]);
                reste -= n as u64;
            }
        }
        Ok(())
    }

    /// Runs `scan` on a window of the file from `pos`, larger each time it needs more, up to
    /// `max` bytes or `fin`.
    fn fenetre<T>(
        &mut self,
        pos: u64,
        fin: u64,
        max: usize,
        quoi: &str,
        mut scan: impl FnMut(&[u8]) -> Scan<T>,
    ) -> Result<T, String> {
        let mut n = max.min(4096);
        loop {
            let octets = self.lire(pos, n, fin)?;
            match scan(&octets) {
                Ok(t) => return Ok(t),
                Err(Arret::Faux(e)) => return Err(format!("{quoi} à l'octet {pos} : {e}")),
                Err(Arret::Incomplet) if octets.len() < n => {
                    return Err(format!(
                        "{quoi} à l'octet {pos} : le fichier s'arrête avant sa fin"
                    ))
                }
                Err(Arret::Incomplet) if n >= max => {
                    return Err(format!(
                        "{quoi} à l'octet {pos} : plus de {} Mio, trop long",
                        max >> 20
                    ))
                }
                Err(Arret::Incomplet) => n = n.saturating_mul(8).min(max),
            }
        }
    }

    /// The indirect object at `pos`: its number, and its value; a stream comes with the offset
    /// and length of its data, and an empty content. `table` resolves an indirect /Length.
    fn objet(
        &mut self,
        pos: u64,
        fin: u64,
        table: &BTreeMap<u32, Entree>,
    ) -> Result<(ObjectId, Object, usize), String> {
        let (id, valeur, taille_texte, donnees) =
            self.fenetre(pos, fin, OBJET_MAX, "objet", |b| {
                let mut c = Curseur { b, i: 0 };
                let numero = c.entier()?;
                let generation = c.entier()?;
                c.mot_cle("obj")?;
                c.blancs();
                let debut = c.i;
                c.valeur_objet()?;
                let texte = &b[debut..c.i];
                let donnees = match c.mot()? {
                    b"endobj" => None,
                    b"stream" => {
                        // The keyword ends with CR LF or LF, then the data begins.
                        match (c.octet()?, c.reste().get(1)) {
                            (b'\n', _) => c.i += 1,
                            (b'\r', Some(b'\n')) => c.i += 2,
                            (b'\r', None) => return Err(Arret::Incomplet),
                            _ => return faux("fin de ligne attendue après « stream »"),
                        }
                        Some(c.i as u64)
                    }
                    autre => {
                        return faux(format!(
                            "« endobj » attendu, « {} » trouvé",
                            String::from_utf8_lossy(autre)
                        ))
                    }
                };
                let id = u32::try_from(numero)
                    .ok()
                    .zip(u16::try_from(generation).ok());
                let Some(id) = id else {
                    return faux("numéro d'objet trop grand");
                };
                let valeur = objet_direct(texte).or_else(|_| {
                    faux(format!(
                        "syntaxe incorrecte dans l'objet {numero} {generation}"
                    ))
                })?;
                Ok((id, valeur, texte.len(), donnees))
            })?;
        let Some(relatif) = donnees else {
            return Ok((id, valeur, taille_texte));
        };
        let Object::Dictionary(dict) = valeur else {
            return Err(format!(
                "objet {} {} : un flux sans dictionnaire",
                id.0, id.1
            ));
        };
        let longueur = match dict.get(b"Length") {
            Ok(Object::Integer(n)) => u64::try_from(*n).ok(),
            Ok(Object::Reference(r)) => match table.get(&r.0) {
                Some(Entree::Normale { offset, .. }) if *offset != pos => self
                    .objet(*offset, fin, &BTreeMap::new())
                    .ok()
                    .and_then(|(_, o, _)| o.as_i64().ok())
                    .and_then(|n| u64::try_from(n).ok()),
                _ => None,
            },
            _ => None,
        }
        .ok_or_else(|| format!("objet {} {} : /Length du flux illisible", id.0, id.1))?;
        let debut = pos + relatif;
        let apres = debut
            .checked_add(longueur)
            .filter(|&a| a < fin)
            .ok_or_else(|| {
                format!(
                    "objet {} {} : son flux dépasse la fin du fichier",
                    id.0, id.1
                )
            })?;
        let fin_flux = self.lire(apres, 64, fin)?;
        let mut c = Curseur { b: &fin_flux, i: 0 };
        let termine = c.mot_cle("endstream").and_then(|_| c.mot_cle("endobj"));
        if termine.is_err() {
            return Err(format!(
                "objet {} {} : « endstream » n'est pas là où /Length le place",
                id.0, id.1
            ));
        }
        self.longueurs.insert(debut, longueur);
        let mut flux = Stream::new(dict, Vec::new());
        flux.start_position = usize::try_from(debut).ok();
        Ok((id, Object::Stream(flux), taille_texte))
    }

    /// The data of a stream read by [`Self::revision`], decoded; `None` past `max` bytes.
    pub fn donnees(&mut self, flux: &Stream, max: u64) -> Result<Option<Vec<u8>>, String> {
        let debut = flux.start_position.map_or(0, |p| p as u64);
        let Some(&longueur) = self.longueurs.get(&debut) else {
            return Ok(Some(flux.content.clone()));
        };
        if longueur > max {
            return Ok(None);
        }
        let brut = self.lire(debut, longueur as usize, self.taille)?;
        let limite = usize::try_from(max).unwrap_or(usize::MAX);
        Stream::new(flux.dict.clone(), brut)
            .decompressed_content_with_limit(limite)
            .map(Some)
            .map_err(|e| format!("flux illisible ({e})"))
    }

    /// One cross-reference section at `pos`: its entries, in the order they take precedence,
    /// and its trailer (the dictionary of a cross-reference stream).
    fn section(&mut self, pos: u64, fin: u64) -> Result<(Vec<(u32, Entree)>, Dictionary), String> {
        let debut = self.lire(pos, 4, fin)?;
        if debut != b"xref" {
            let (_, objet, _) = self.objet(pos, fin, &BTreeMap::new())?;
            let flux = match objet {
                Object::Stream(f)
                    if f.dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"XRef") =>
                {
                    f
                }
                _ => {
                    return Err(format!(
                        "ni table ni flux de références croisées à l'octet {pos}"
                    ))
                }
            };
            let donnees = self
                .donnees(&flux, FLUX_STRUCTURE_MAX as u64)?
                .ok_or("flux des références croisées trop long")?;
            let entrees = entrees_du_flux(&flux.dict, &donnees)
                .map_err(|e| format!("flux des références croisées à l'octet {pos} : {e}"))?;
            return Ok((entrees, flux.dict));
        }
        let max = ENTREES_MAX * 20 + OBJET_MAX;
        self.fenetre(pos, fin, max, "table des références croisées", |b| {
            let mut c = Curseur { b, i: 4 };
            let mut entrees = Vec::new();
            loop {
                c.blancs();
                if c.commence(b"trailer")? {
                    c.i += "trailer".len();
                    break;
                }
                let premier = c.entier()?;
                let nombre = c.entier()?;
                if nombre > (ENTREES_MAX - entrees.len()) as u64 {
                    return faux(format!("plus de {ENTREES_MAX} entrées"));
                }
                for k in 0..nombre {
                    let id = premier.checked_add(k).and_then(|id| u32::try_from(id).ok());
                    let offset = c.entier()?;
                    let generation = u16::try_from(c.entier()?);
                    let (Some(id), Ok(generation)) = (id, generation) else {
                        return faux("numéro ou génération d'objet trop grand");
                    };
                    let entree = match c.mot()? {
                        // Offset 0 is the header: some writers mark missing objects so.
                        b"n" if offset > 0 => Entree::Normale { offset, generation },
                        b"n" | b"f" => Entree::Libre,
                        _ => return faux("entrée ni « n » ni « f »"),
                    };
                    entrees.push((id, entree));
                }
            }
            c.blancs();
            let debut = c.i;
            c.valeur(0)?;
            match objet_direct(&b[debut..c.i])? {
                Object::Dictionary(d) => Ok((entrees, d)),
                _ => faux("le trailer n'est pas un dictionnaire"),
            }
        })
    }

    /// The revision of the file that ends at `fin`, as lopdf's Document: the objects its
    /// cross-reference sections list, stream data left in the file.
    pub fn revision(&mut self, fin: u64) -> Result<Document, String> {
        let queue = self.lire(fin.saturating_sub(1024), 1024, fin)?;
        let apres = queue
            .windows(9)
            .rposition(|w| w == b"startxref")
            .map(|p| p + 9)
            .ok_or("mot-clé startxref introuvable à la fin du fichier")?;
        let reste = &queue[apres..];
        if !reste.windows(5).any(|w| w == b"%%EOF") {
            return Err("%%EOF absent après startxref".into());
        }
        let depart = Curseur { b: reste, i: 0 }
            .entier()
            .ok()
            .filter(|&d| d < fin)
            .ok_or("valeur de startxref illisible")?;

        let mut table: BTreeMap<u32, Entree> = BTreeMap::new();
        let mut trailer: Option<Dictionary> = None;
        let mut vues = HashSet::new();
        let mut suivante = Some(depart);
        while let Some(pos) = suivante.take() {
            if !vues.insert(pos) || vues.len() > SECTIONS_MAX {
                return Err("les tables des références croisées (/Prev) bouclent".into());
            }
            let (entrees, dict) = self.section(pos, fin)?;
            let mut sections = vec![entrees];
            // A hybrid file: the table first, then its cross-reference stream (§ 7.5.8.4).
            if let Ok(x) = dict.get(b"XRefStm") {
                sections.push(self.section(offset(x, fin)?, fin)?.0);
            }
            for (id, entree) in sections.into_iter().flatten() {
                if table.len() >= ENTREES_MAX {
                    return Err(format!("plus de {ENTREES_MAX} objets"));
                }
                table.entry(id).or_insert(entree);
            }
            if let Ok(prev) = dict.get(b"Prev") {
                suivante = Some(offset(prev, fin)?);
            }
            trailer.get_or_insert(dict);
        }
        let trailer = trailer.ok_or("trailer absent")?;
        if trailer.get(b"Encrypt").is_ok() {
            return Err("PDF chiffré : sa vérification n'est pas prise en charge".into());
        }

        let mut doc = Document::new();
        let mut charge = 0usize;
        let mut flux_objets: HashMap<u32, BTreeMap<ObjectId, Object>> = HashMap::new();
        for (&numero, &entree) in &table {
            let (id, objet) = match entree {
                Entree::Libre => continue,
                Entree::Normale { offset, generation } => {
                    let (id, objet, texte) = self.objet(offset, fin, &table)?;
                    if id != (numero, generation) {
                        return Err(format!(
                            "la table des références croisées place l'objet {numero} {generation} à l'octet {offset}, où se trouve l'objet {} {}",
                            id.0, id.1
                        ));
                    }
                    charge += texte;
                    (id, objet)
                }
                Entree::Compressee { conteneur } => {
                    if let Entry::Vacant(place) = flux_objets.entry(conteneur) {
                        let objets = self.flux_objets(conteneur, fin, &table)?;
                        charge += objets.1;
                        place.insert(objets.0);
                    }
                    let objet = flux_objets[&conteneur]
                        .get(&(numero, 0))
                        .cloned()
                        .ok_or_else(|| {
                            format!("objet {numero} absent du flux d'objets {conteneur}")
                        })?;
                    ((numero, 0), objet)
                }
            };
            charge += std::mem::size_of::<Object>() + 64;
            if charge > STRUCTURE_MAX {
                return Err(format!(
                    "sa structure dépasse {} Mio (données des images et polices non comprises) : trop volumineuse pour être vérifiée",
                    STRUCTURE_MAX >> 20
                ));
            }
            doc.max_id = doc.max_id.max(id.0);
            doc.objects.insert(id, objet);
        }
        doc.trailer = trailer;
        doc.xref_start = usize::try_from(depart).unwrap_or(usize::MAX);
        Ok(doc)
    }

    /// The objects of the object stream `conteneur`, and the size of its decoded data.
    fn flux_objets(
        &mut self,
        conteneur: u32,
        fin: u64,
        table: &BTreeMap<u32, Entree>,
    ) -> Result<(BTreeMap<ObjectId, Object>, usize), String> {
        let Some(Entree::Normale { offset, .. }) = table.get(&conteneur) else {
            return Err(format!("flux d'objets {conteneur} introuvable"));
        };
        let flux = match self.objet(*offset, fin, table)?.1 {
            Object::Stream(f)
                if f.dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"ObjStm") =>
            {
                f
            }
            _ => return Err(format!("l'objet {conteneur} n'est pas un flux d'objets")),
        };
        let donnees = self
            .donnees(&flux, FLUX_STRUCTURE_MAX as u64)?
            .ok_or_else(|| format!("flux d'objets {conteneur} trop long"))?;
        let taille = donnees.len();
        let mut dict = flux.dict;
        dict.remove(b"Filter");
        dict.remove(b"DecodeParms");
        let objets = lopdf::ObjectStream::new_with_limit(
            &Stream::new(dict, donnees),
            Some(FLUX_STRUCTURE_MAX),
        )
        .map_err(|e| format!("flux d'objets {conteneur} illisible ({e})"))?
        .objects;
        Ok((objets, taille))
    }
}
