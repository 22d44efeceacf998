//! The door of the evidence store for outside pieces: a piece is received into a temporary file
//! while it streams in (counted and hashed, cut off past the size limit: a 2 GB upload never sits
//! in memory), then its content is recognised from its bytes, never from its name or the
//! browser's say-so, and refused with a message that says what to fix.

use parafe_core::model::Sha256Digest;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

/// The formats a justificatif may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Pdf,
    Jpeg,
    Png,
    Eml,
}

impl Format {
    pub fn mime(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Eml => "message/rfc822",
        }
    }

    pub fn par_mime(mime: &str) -> Option<Format> {
        [Format::Pdf, Format::Jpeg, Format::Png, Format::Eml]
            .into_iter()
            .find(|f| f.mime() == mime)
    }

    /// The extension files of this format get in a pack.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Eml => "eml",
        }
    }

    /// The format a file name announces.
    pub fn par_extension(nom: &str) -> Option<Format> {
        let ext = nom.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "pdf" => Some(Format::Pdf),
            "jpg" | "jpeg" => Some(Format::Jpeg),
            "png" => Some(Format::Png),
            "eml" => Some(Format::Eml),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Pdf => "PDF",
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Eml => "courriel EML",
        })
    }
}

/// Why a piece is refused; every message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Refus {
    #[error("« {nom} » est vide (0 octet) : choisissez le bon fichier et recommencez")]
    Vide { nom: String },
    #[error("« {nom} » dépasse la taille maximale de {} : réduisez-le (numérisation à 200 dpi, PDF compressé) ou découpez-le", taille_lisible(*limite))]
    TropGros { nom: String, limite: u64 },
    #[error("« {nom} » : seuls les fichiers PDF, JPEG, PNG et les courriels enregistrés (.eml) sont acceptés ; enregistrez la pièce dans l'un de ces formats")]
    FormatRefuse { nom: String },
    #[error("le contenu de « {nom} » n'est pas un {annonce} comme son nom l'indique : c'est {trouve}. Déposez la pièce elle-même, en PDF, JPEG, PNG ou EML")]
    ContenuDifferent {
        nom: String,
        annonce: Format,
        trouve: String,
    },
    #[error("« {nom} » est un {format} endommagé ou incomplet ({detail}) : enregistrez-le ou numérisez-le à nouveau")]
    Endommage {
        nom: String,
        format: Format,
        detail: String,
    },
    #[error("« {nom} » contient {ce_qui} : les PDF actifs sont refusés. Imprimez-le en PDF (« Enregistrer au format PDF », « Microsoft Print to PDF ») et déposez cette copie")]
    Actif { nom: String, ce_qui: String },
    #[error("un justificatif « {libelle} » doit être en {permis}, pas en {format} (« {nom} »)")]
    FormatNonPermis {
        nom: String,
        libelle: String,
        format: Format,
        permis: String,
    },
    #[error("réception de « {nom} » interrompue : {source}")]
    Lecture { nom: String, source: io::Error },
    /// Not the piece's fault: it could not be written to disk as it arrived.
    #[error("{panne}")]
    Stockage { panne: parafe_core::panne::Panne },
}

impl Refus {
    /// A piece that could not be written while received (disk full…): a storage fault.
    fn ecriture(nom: &str, e: io::Error) -> Refus {
        tracing::error!("réception de « {nom} » : écriture impossible : {e}");
        Refus::Stockage {
            panne: parafe_core::panne::Panne::de_io(&e),
        }
    }
}

/// `52428800` → « 50 Mio », `426271` → « 416 Kio ».
pub fn taille_lisible(octets: u64) -> String {
    const MIO: u64 = 1024 * 1024;
    if octets >= 1024 * MIO && octets.is_multiple_of(1024 * MIO) {
        format!("{} Gio", octets / (1024 * MIO))
    } else if octets >= MIO {
        format!("{:.0} Mio", octets as f64 / MIO as f64)
    } else if octets >= 1024 {
        format!("{:.0} Kio", octets as f64 / 1024.0)
    } else {
        format!("{octets} octets")
    }
}

/// The beginning and the end of a piece are enough to recognise it.
const BORD: usize = 4096;

/// A piece being received: written to a temporary file as it arrives.
pub struct Reception {
    nom: String,
    limite: u64,
    fichier: BufWriter<tempfile::NamedTempFile>,
    hasher: Sha256,
    taille: u64,
    debut: Vec<u8>,
    fin: Vec<u8>,
}

/// A piece received whole, not yet examined. The temporary file goes away with it.
pub struct Recu {
    pub nom: String,
    pub taille: u64,
    pub sha256: Sha256Digest,
    fichier: tempfile::NamedTempFile,
    debut: Vec<u8>,
    fin: Vec<u8>,
}

impl Reception {
    /// Starts receiving a file named `nom` (kept as [`super::nom_de_fichier`] cleans it) into a
    /// temporary file under `dir`.
    pub fn new(dir: &Path, nom: &str, limite: u64) -> Result<Reception, Refus> {
        let nom = &super::nom_de_fichier(nom);
        let ecriture = |e| Refus::ecriture(nom, e);
        std::fs::create_dir_all(dir).map_err(ecriture)?;
        let fichier = tempfile::Builder::new()
            .prefix(".depot-")
            .tempfile_in(dir)
            .map_err(ecriture)?;
        Ok(Reception {
            nom: nom.to_owned(),
            limite,
            fichier: BufWriter::with_capacity(256 * 1024, fichier),
            hasher: Sha256::new(),
            taille: 0,
            debut: Vec::with_capacity(BORD),
            fin: Vec::with_capacity(2 * BORD),
        })
    }

    /// Takes the next chunk; refuses as soon as the total passes the limit.
    pub fn ecrire(&mut self, chunk: &[u8]) -> Result<(), Refus> {
        self.taille += chunk.len() as u64;
        if self.taille > self.limite {
            return Err(Refus::TropGros {
                nom: self.nom.clone(),
                limite: self.limite,
            });
        }
        if self.debut.len() < BORD {
            let n = (BORD - self.debut.len()).min(chunk.len());
            self.debut.extend_from_slice(&chunk[..n]);
        }
        self.fin
            .extend_from_slice(&chunk[chunk.len().saturating_sub(BORD)..]);
        if self.fin.len() > 2 * BORD {
            self.fin.drain(..self.fin.len() - BORD);
        }
        self.hasher.update(chunk);
        self.fichier
            .write_all(chunk)
            .map_err(|e| Refus::ecriture(&self.nom, e))
    }

    pub fn terminer(self) -> Result<Recu, Refus> {
        let nom = self.nom;
        if self.taille == 0 {
            return Err(Refus::Vide { nom });
        }
        let fichier = self
            .fichier
            .into_inner()
            .map_err(|e| Refus::ecriture(&nom, e.into_error()))?;
        let mut fin = self.fin;
        if fin.len() > BORD {
            fin.drain(..fin.len() - BORD);
        }
        Ok(Recu {
            nom,
            taille: self.taille,
            sha256: Sha256Digest(self.hasher.finalize().into()),
            fichier,
            debut: self.debut,
            fin,
        })
    }
}

/// Receives a whole piece from a reader, through a fixed buffer.
pub fn recevoir(source: impl Read, dir: &Path, nom: &str, limite: u64) -> Result<Recu, Refus> {
    let mut source = source;
    let mut reception = Reception::new(dir, nom, limite)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Refus::Lecture {
                    nom: nom.to_owned(),
                    source,
                })
            }
        };
        reception.ecrire(&buf[..n])?;
    }
    reception.terminer()
}

impl Recu {
    pub fn chemin(&self) -> &Path {
        self.fichier.path()
    }

    /// Recognises the piece and checks it: the format its bytes show must be the one its name
    /// announces, its structure sound, and a PDF must not carry anything active.
    pub fn examiner(&self) -> Result<Format, Refus> {
        let nom = &self.nom;
        let annonce =
            Format::par_extension(nom).ok_or_else(|| Refus::FormatRefuse { nom: nom.clone() })?;
        let trouve = reconnaitre(&self.debut);
        if trouve != Some(annonce) {
            return Err(Refus::ContenuDifferent {
                nom: nom.clone(),
                annonce,
                trouve: match trouve {
                    Some(f) => format!("un fichier {f}"),
                    None => decrire(&self.debut).into(),
                },
            });
        }
        let endommage = |detail: &str| Refus::Endommage {
            nom: nom.clone(),
            format: annonce,
            detail: detail.to_owned(),
        };
        match annonce {
            Format::Pdf => {
                if !contient(&self.fin, b"%%EOF") {
                    return Err(endommage("la fin du fichier (%%EOF) manque"));
                }
                self.examiner_pdf()?;
            }
            Format::Png => {
                if self.debut.get(12..16) != Some(b"IHDR".as_slice()) {
                    return Err(endommage("l'en-tête IHDR manque"));
                }
                if !contient(&self.fin, b"IEND") {
                    return Err(endommage("la fin de l'image (IEND) manque"));
                }
            }
            Format::Jpeg => {
                // Phones append data after the end marker: only the start is checked.
                let marqueur = self.debut.get(3).copied().unwrap_or(0);
                if !matches!(marqueur, 0xC0..=0xC3 | 0xC4 | 0xDB | 0xDD | 0xE0..=0xEF | 0xFE) {
                    return Err(endommage("premier segment inconnu"));
                }
            }
            Format::Eml => {
                if let Err(detail) = entetes_courriel(&self.debut, self.taille as usize) {
                    return Err(endommage(&detail));
                }
            }
        }
        Ok(annonce)
    }

    /// Active or embedded content a controller's viewer could run or follow: JavaScript,
    /// actions run on opening or on events, links to other files or outside the web, forms
    /// that send data, XFA forms, attached files, media, and a ZIP archive hidden in the same
    /// bytes (a polyglot). Read in the raw bytes (objects a broken cross-reference table hides
    /// from the parser), then in the structure of every revision, object streams included,
    /// names decoded: what a later revision masks a viewer that repairs the file may still show.
    fn examiner_pdf(&self) -> Result<(), Refus> {
        let nom = &self.nom;
        let lecture = |source| Refus::Lecture {
            nom: nom.clone(),
            source,
        };
        let endommage = |detail: String| Refus::Endommage {
            nom: nom.clone(),
            format: Format::Pdf,
            detail,
        };
        if self.taille > ANALYSE_PDF_MAX {
            return Err(endommage(format!(
                "plus de {} : trop volumineux pour en contrôler le contenu",
                taille_lisible(ANALYSE_PDF_MAX)
            )));
        }
        let mut bytes = Vec::with_capacity(self.taille as usize);
        std::fs::File::open(self.chemin())
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(lecture)?;
        let actif = |ce_qui: String| Refus::Actif {
            nom: nom.clone(),
            ce_qui,
        };
        if archive_zip(&bytes) {
            return Err(actif(
                "une archive ZIP dans les mêmes octets que le PDF (fichier polyglotte)".into(),
            ));
        }
        let brut = lecture_brute(&bytes);
        if let Some(ce_qui) = brut.actif {
            return Err(actif(ce_qui));
        }
        if brut.fins.len() > REVISIONS_MAX {
            return Err(endommage(format!(
                "plus de {REVISIONS_MAX} révisions successives : trop pour contrôler chacune"
            )));
        }
        let doc = charger(&bytes, false).map_err(endommage)?;
        if let Some(ce_qui) = doc.objects.values().find_map(|o| actif_dans(&doc, o, 0)) {
            return Err(actif(ce_qui));
        }
        let masque = |ce_qui: String| {
            actif(format!(
                "{ce_qui}, dans une révision antérieure du fichier que la dernière masque"
            ))
        };
        // One view at a time, each dropped once looked at.
        let vues = std::iter::once(Ok(doc))
            .chain(std::iter::once_with(|| charger(&bytes, true)))
            .chain(
                brut.fins
                    .iter()
                    .filter(|&&fin| fin < bytes.len())
                    .map(|&fin| charger(&bytes[..fin], false)),
            );
        for vue in vues.filter_map(Result::ok) {
            if let Some(ce_qui) = vue
                .objects
                .values()
                .chain(membres_des_flux(&vue).values())
                .find_map(|o| actif_dans(&vue, o, 0))
            {
                return Err(masque(ce_qui));
            }
        }
        Ok(())
    }
}

/// Loads a PDF as a viewer would: leniently, or rebuilding its cross-reference table from the
/// objects found in the bytes as a viewer repairing it does. Streams decode to a bounded size.
fn charger(bytes: &[u8], reconstruire: bool) -> Result<lopdf::Document, String> {
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(ANALYSE_FLUX_MAX),
        force_reconstruct: reconstruire,
        ..Default::default()
    };
    lopdf::Document::load_mem_with_options(bytes, options).map_err(|e| e.to_string())
}

/// Every object of every object stream, those no cross-reference entry points to included.
fn membres_des_flux(
    doc: &lopdf::Document,
) -> std::collections::BTreeMap<lopdf::ObjectId, lopdf::Object> {
    doc.objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .filter(|s| s.dict.get(b"Type").and_then(lopdf::Object::as_name).ok() == Some(b"ObjStm"))
        .filter_map(|s| lopdf::ObjectStream::new_with_limit(s, Some(ANALYSE_FLUX_MAX)).ok())
        .flat_map(|o| o.objects)
        .collect()
}

/// Revisions looked at one by one; no real document has this many.
const REVISIONS_MAX: usize = 64;
/// What one stream of an uploaded PDF may decode to while it is checked.
const ANALYSE_FLUX_MAX: usize = 64 << 20;

/// PDFs are parsed in memory to be checked: beyond this they are refused.
pub const ANALYSE_PDF_MAX: u64 = 256 * 1024 * 1024;

fn contient(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// The format the first bytes show.
fn reconnaitre(debut: &[u8]) -> Option<Format> {
    // PDF readers accept the header anywhere in the first 1024 bytes.
    if contient(&debut[..debut.len().min(1024)], b"%PDF-") {
        Some(Format::Pdf)
    } else if debut.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if debut.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if entetes_courriel(debut, usize::MAX).is_ok() {
        Some(Format::Eml)
    } else {
        None
    }
}

/// What an unrecognised file is, for the message.
fn decrire(debut: &[u8]) -> &'static str {
    let commence = |p: &[u8]| debut.starts_with(p);
    if commence(b"MZ") {
        "un programme Windows (.exe)"
    } else if commence(b"\x7fELF") {
        "un programme Linux"
    } else if commence(b"PK\x03\x04") {
        "une archive ZIP ou un document bureautique (docx, xlsx, odt)"
    } else if commence(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "un document bureautique ancien (doc, xls)"
    } else if commence(b"GIF8") {
        "une image GIF"
    } else if commence(b"RIFF") && debut.get(8..12) == Some(b"WEBP") {
        "une image WebP"
    } else if debut.get(4..8) == Some(b"ftyp") {
        "une photo HEIC ou une vidéo (exportez la photo en JPEG)"
    } else if commence(b"{\\rtf") {
        "un document RTF"
    } else if debut
        .iter()
        .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace() || b >= 0x80)
    {
        "du texte"
    } else {
        "un fichier d'un format inconnu"
    }
}

/// An RFC 5322 message starts with header fields up to an empty line; a saved e-mail has at
/// least a sender and a date or a subject. `total` is the file size (a file of headers only,
/// shorter than what was looked at, is complete).
fn entetes_courriel(debut: &[u8], total: usize) -> Result<(), String> {
    if debut.contains(&0) {
        return Err("octets nuls dans les en-têtes".into());
    }
    let texte = String::from_utf8_lossy(debut);
    let mut champs = Vec::new();
    let mut lignes = texte.split('\n').peekable();
    let mut fini = false;
    while let Some(ligne) = lignes.next() {
        let ligne = ligne.strip_suffix('\r').unwrap_or(ligne);
        if ligne.is_empty() {
            fini = true;
            break;
        }
        if lignes.peek().is_none() && debut.len() < total {
            break; // cut off at the edge of what was read
        }
        if ligne.starts_with([' ', '\t']) {
            if champs.is_empty() {
                return Err("première ligne d'en-tête invalide".into());
            }
            continue;
        }
        match ligne.split_once(':') {
            Some((nom, _))
                if !nom.is_empty() && nom.bytes().all(|b| b.is_ascii_graphic() && b != b':') =>
            {
                champs.push(nom.to_ascii_lowercase())
            }
            _ => return Err(format!("ligne d'en-tête invalide « {ligne:.40} »")),
        }
    }
    if !fini && debut.len() >= total {
        return Err("pas de corps après les en-têtes".into());
    }
    let a = |c: &str| champs.iter().any(|x| x == c);
    if !a("from") || !(a("date") || a("subject") || a("message-id")) {
        return Err("en-têtes From et Date ou Subject absents".into());
    }
    Ok(())
}

/// Names (decoded from `#xx` escapes) that make a PDF act, call elsewhere or carry another
/// file by themselves, wherever they stand, with what the refusal says of them.
const NOMS_ACTIFS: [(&[u8], &str); 19] = [
    (b"JS", "du JavaScript (/JS)"),
    (b"JavaScript", "du JavaScript (/JavaScript)"),
    (b"AA", "des actions déclenchées automatiquement (/AA)"),
    (b"Launch", "une action qui lance un programme (/Launch)"),
    (
        b"SubmitForm",
        "une action qui envoie des données à une adresse (/SubmitForm)",
    ),
    (
        b"ImportData",
        "une action qui importe des données d'un autre fichier (/ImportData)",
    ),
    (
        b"GoToR",
        "un lien vers un autre fichier, qui peut être sur un partage réseau (/GoToR)",
    ),
    (b"GoToE", "un lien vers un document joint (/GoToE)"),
    (
        b"XFA",
        "un formulaire XFA, qui peut porter des scripts (/XFA)",
    ),
    (b"EmbeddedFiles", "un fichier joint (/EmbeddedFiles)"),
    (b"EmbeddedFile", "un fichier joint (/EmbeddedFile)"),
    (b"EF", "un fichier joint (/EF)"),
    (b"FileAttachment", "un fichier joint (/FileAttachment)"),
    (
        b"RichMedia",
        "un contenu multimédia interactif (/RichMedia)",
    ),
    (
        b"RichMediaExecute",
        "une commande d'un contenu multimédia (/RichMediaExecute)",
    ),
    (b"Rendition", "une action qui joue un média (/Rendition)"),
    (b"Movie", "une vidéo (/Movie)"),
    (b"Sound", "un son (/Sound)"),
    (b"3D", "un objet 3D, qui peut porter des scripts (/3D)"),
];

fn actif(nom: &[u8]) -> Option<&'static str> {
    NOMS_ACTIFS
        .iter()
        .find(|(n, _)| *n == nom)
        .map(|(_, description)| *description)
}

fn est_delimiteur(b: u8) -> bool {
    b.is_ascii_whitespace() || b"()<>[]{}/%".contains(&b)
}

/// What the raw bytes show outside stream data (compressed bytes would match by chance): the
/// first active name written in clear, and where each revision ends (after its `%%EOF`).
struct LectureBrute {
    actif: Option<String>,
    fins: Vec<usize>,
}

fn lecture_brute(bytes: &[u8]) -> LectureBrute {
    let mut out = LectureBrute {
        actif: None,
        fins: Vec::new(),
    };
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' => {
                let debut = i + 1;
                let mut fin = debut;
                while fin < bytes.len() && !est_delimiteur(bytes[fin]) {
                    fin += 1;
                }
                let nom = decoder_nom(&bytes[debut..fin]);
                if out.actif.is_none() {
                    out.actif = actif(&nom).map(str::to_owned);
                }
                i = fin;
            }
            b'%' if bytes[i..].starts_with(b"%%EOF") => {
                i += 5;
                out.fins.push(i);
            }
            b's' if bytes[i..].starts_with(b"stream")
                && (i == 0 || est_delimiteur(bytes[i - 1]))
                && matches!(bytes.get(i + 6), Some(b'\r' | b'\n')) =>
            {
                i = match find(&bytes[i + 6..], b"endstream") {
                    Some(p) => i + 6 + p + 9,
                    None => bytes.len(),
                };
            }
            _ => i += 1,
        }
    }
    out
}

/// A ZIP archive in the same bytes as the PDF: a local header before the PDF header, or an
/// end-of-central-directory record that points back at a central directory, as ZIP readers
/// look for it.
fn archive_zip(bytes: &[u8]) -> bool {
    let preambule = &bytes[..find(bytes, b"%PDF-").unwrap_or(0)];
    if contient(preambule, b"PK\x03\x04") {
        return true;
    }
    let u32_a = |p: usize| {
        bytes
            .get(p..p + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let repertoire = |p: Option<usize>| {
        p.and_then(|p| bytes.get(p..p + 4))
            .is_some_and(|b| b == b"PK\x01\x02")
    };
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x05\x06")
        .any(|(p, _)| {
            let (taille, offset) = (u32_a(p + 12), u32_a(p + 16));
            // The directory just before the record, or where the record says (ZIP64: the
            // record's locator comes first).
            repertoire(taille.and_then(|t| p.checked_sub(t)))
                || repertoire(offset)
                || p.checked_sub(20)
                    .is_some_and(|l| bytes[l..].starts_with(b"PK\x06\x07"))
        })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn decoder_nom(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'#' && i + 2 < raw.len() {
            if let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(&raw[i + 1..i + 3]), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// Active or embedded content in an object, looking into nested dictionaries and arrays.
fn actif_dans(doc: &lopdf::Document, objet: &lopdf::Object, profondeur: usize) -> Option<String> {
    use lopdf::Object;
    if profondeur > 32 {
        return None;
    }
    let dict = match objet {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &s.dict,
        Object::Array(items) => {
            return items
                .iter()
                .find_map(|o| actif_dans(doc, o, profondeur + 1));
        }
        _ => return None,
    };
    for (cle, valeur) in dict.iter() {
        if let Some(description) = actif(cle) {
            return Some(description.into());
        }
        match (cle.as_slice(), valeur) {
            (b"S" | b"Type" | b"Subtype", Object::Name(n)) => {
                if let Some(description) = actif(n) {
                    return Some(description.into());
                }
                if cle == b"S" && n == b"URI" {
                    let adresse = adresse(dict);
                    if !adresse_du_web(&adresse) {
                        return Some(format!("un lien vers « {adresse} », hors du web (/URI)"));
                    }
                }
            }
            (b"OpenAction", action) => {
                if let Some(ce_qui) = action_automatique(doc, action, 0) {
                    return Some(format!(
                        "{ce_qui}, lancée à l'ouverture du document (/OpenAction)"
                    ));
                }
            }
            _ => {}
        }
        if let Some(ce_qui) = actif_dans(doc, valeur, profondeur + 1) {
            return Some(ce_qui);
        }
    }
    None
}

/// What an action run on opening does, unless it only shows a page of the document: followed
/// with its /Next actions, since all of them run.
fn action_automatique(
    doc: &lopdf::Document,
    action: &lopdf::Object,
    profondeur: usize,
) -> Option<String> {
    use lopdf::Object;
    if profondeur > 16 {
        return Some("une chaîne d'actions sans fin".into());
    }
    let action = match action {
        Object::Reference(id) => doc.get_object(*id).ok()?,
        a => a,
    };
    let dict = match action {
        Object::Dictionary(d) => d,
        // A destination: the page the document opens at; an array of /Next actions.
        Object::Array(items) => {
            return items
                .iter()
                .filter(|i| !matches!(i, Object::Name(_) | Object::Integer(_) | Object::Real(_)))
                .filter(|i| {
                    !i.as_reference()
                        .is_ok_and(|r| doc.get_dictionary(r).is_ok_and(|d| d.has_type(b"Page")))
                })
                .find_map(|i| action_automatique(doc, i, profondeur + 1));
        }
        _ => return None,
    };
    match dict.get(b"S").and_then(Object::as_name) {
        Ok(b"GoTo") | Err(_) => {}
        Ok(b"URI") => {
            return Some(format!(
                "une action qui ouvre l'adresse « {} » (/URI)",
                adresse(dict)
            ))
        }
        Ok(genre) => {
            return Some(actif(genre).map_or_else(
                || format!("une action /{}", String::from_utf8_lossy(genre)),
                str::to_owned,
            ))
        }
    }
    dict.get(b"Next")
        .ok()
        .and_then(|suite| action_automatique(doc, suite, profondeur + 1))
}

/// The address of a /URI action, as a person reads it (cut after 80 characters).
fn adresse(action: &lopdf::Dictionary) -> String {
    let texte = action
        .get(b"URI")
        .and_then(lopdf::Object::as_str)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    texte.chars().take(80).collect()
}

/// Web pages and e-mail addresses; never a file, a network share or a script.
fn adresse_du_web(adresse: &str) -> bool {
    let a = adresse.trim().to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|debut| a.starts_with(debut))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recu(nom: &str, bytes: &[u8]) -> Result<Format, Refus> {
        let dir = tempfile::tempdir().unwrap();
        recevoir(bytes, dir.path(), nom, 1 << 20)?.examiner()
    }

    #[test]
    fn noms_echappes() {
        assert_eq!(decoder_nom(b"J#61vaScript"), b"JavaScript");
        assert_eq!(
            lecture_brute(b"<< /S /J#61vaScript >>").actif.as_deref(),
            Some("du JavaScript (/JavaScript)")
        );
        assert_eq!(lecture_brute(b"<< /AAAAAA+Arial /F1 >>").actif, None);
    }

    #[test]
    fn courriels() {
        let eml = b"From: a@b.fr\r\nTo: c@d.fr\r\nSubject: Embauche\r\n\r\nBonjour";
        assert!(matches!(recu("mail.eml", eml), Ok(Format::Eml)));
        assert!(matches!(
            recu("mail.eml", b"Bonjour, voici le contrat"),
            Err(Refus::ContenuDifferent { .. })
        ));
    }

    #[test]
    fn refus_nommes() {
        assert!(matches!(recu("a.pdf", b""), Err(Refus::Vide { .. })));
        assert!(matches!(
            recu("a.docx", b"PK\x03\x04"),
            Err(Refus::FormatRefuse { .. })
        ));
        let e = recu("setup.pdf", b"MZ\x90\x00\x03")
            .unwrap_err()
            .to_string();
        assert!(e.contains("programme Windows"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let trop = recevoir(&[b'x'; 100][..], dir.path(), "a.pdf", 99);
        assert!(matches!(trop, Err(Refus::TropGros { limite: 99, .. })));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
