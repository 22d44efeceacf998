//! Append-only PDF writing: each seal step is an incremental update after the original bytes,
//! which are never rewritten. Knows PDF syntax (objects, cross-reference sections, signature
//! fields, DSS) and nothing of cryptography: the /Contents of a signature is reserved here as a
//! zero-filled hex string and filled later with whatever bytes the caller brings.

use chrono::{DateTime, Utc};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat};
use sha2::{Digest, Sha256};

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
        let next_id = u32::try_from(size).unwrap_or(0).max(doc.max_id + 1);
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

    fn alloc(&mut self) -> ObjectId {
        self.next_id += 1;
        (self.next_id - 1, 0)
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

        let sig_id = self.alloc();
        let field_id = self.alloc();
        let ap_id = self.alloc();
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
            _ => (Some(self.alloc()), Dictionary::new()),
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
                let id = self.alloc();
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
        let id = self.alloc();
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
            let xref_id = self.alloc();
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
            Some((start, count)) if *start + *count as u32 == *id => *count += 1,
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
