//! Verification of a sealed PDF, without trusting anything parafe wrote about it: each
//! signature's /ByteRange and CMS, its timestamp, the path of its certificate to a trusted one,
//! and what changed in the file after it was signed.

use super::chain;
use super::cms::{self, ID_DATA};
use super::diff::{self, Change};
use super::pdf::{Lecteur, FLUX_LU_MAX};
use super::tsa;
use chrono::{DateTime, Utc};
use lopdf::{Document, Object, ObjectId};
use parafe_core::model::Sha256Digest;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek};
use std::time::SystemTime;
use x509_cert::Certificate;

/// The input is not something a verification can be run on (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("ce fichier n'est pas un PDF ({0})")]
    NotPdf(String),
    #[error("le PDF est illisible ({0})")]
    Malformed(String),
    #[error("le fichier est tronqué : {0}")]
    Truncated(String),
}

/// What a verification found, per signature; `valid` only when everything holds.
#[derive(Debug, Serialize)]
pub struct Report {
    pub sha256: Sha256Digest,
    pub size: u64,
    /// PAdES baseline level reached by the seal (B-B, B-T, B-LT, B-LTA).
    pub pades_level: Option<&'static str>,
    pub signatures: Vec<SignatureReport>,
    pub valid: bool,
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SignatureReport {
    pub field: String,
    /// `signature` (CAdES) or `document_timestamp` (RFC 3161).
    pub kind: &'static str,
    pub sub_filter: String,
    pub signer: Option<CertificateInfo>,
    pub digest_algorithm: &'static str,
    pub byte_range: Vec<u64>,
    /// The signature covers the file up to its end.
    pub covers_whole_file: bool,
    /// Later revisions: what they added, when all is permitted.
    pub permitted_changes_after: Vec<String>,
    /// Later revisions that change the signed document.
    pub forbidden_changes_after: Vec<String>,
    pub timestamp: Option<TimestampInfo>,
    /// Digest and signature hold: the signed bytes are those signed.
    pub intact: bool,
    /// The certificate chains to a trusted one.
    pub trusted: bool,
    pub problems: Vec<String>,
    pub valid: bool,
}

#[derive(Debug, Serialize)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
}

#[derive(Debug, Serialize)]
pub struct TimestampInfo {
    pub time: DateTime<Utc>,
    pub tsa: String,
    pub valid: bool,
}

fn cert_info(cert: &Certificate) -> CertificateInfo {
    let tbs = &cert.tbs_certificate;
    CertificateInfo {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial: tbs.serial_number.to_string(),
        not_before: tbs.validity.not_before.to_string(),
        not_after: tbs.validity.not_after.to_string(),
    }
}

/// A signature field found in the AcroForm.
struct Field {
    name: String,
    sig: lopdf::Dictionary,
}

fn resolve<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Object> {
    match object {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

fn signature_fields(doc: &Document) -> Vec<Field> {
    let mut out = Vec::new();
    let Some(catalog) = doc
        .trailer
        .get(b"Root")
        .ok()
        .and_then(|r| resolve(doc, r))
        .and_then(|c| c.as_dict().ok())
    else {
        return out;
    };
    let Some(acroform) = catalog
        .get(b"AcroForm")
        .ok()
        .and_then(|a| resolve(doc, a))
        .and_then(|a| a.as_dict().ok())
    else {
        return out;
    };
    let mut stack: Vec<(ObjectId, usize)> = acroform
        .get(b"Fields")
        .ok()
        .and_then(|f| resolve(doc, f))
        .and_then(|f| f.as_array().ok())
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_reference().ok())
        .map(|id| (id, 0))
        .collect();
    stack.reverse();
    let mut seen = std::collections::HashSet::new();
    while let Some((id, depth)) = stack.pop() {
        let Ok(field) = doc.get_dictionary(id) else {
            continue;
        };
        // A field listed twice, or a loop of /Kids, is read once.
        if !seen.insert(id) {
            continue;
        }
        if let Ok(kids) = field.get(b"Kids").and_then(Object::as_array) {
            if depth < 16 {
                stack.extend(
                    kids.iter()
                        .rev()
                        .filter_map(|k| k.as_reference().ok())
                        .map(|k| (k, depth + 1)),
                );
            }
        }
        let is_sig = field
            .get(b"FT")
            .and_then(Object::as_name)
            .is_ok_and(|n| n == b"Sig");
        let sig = field
            .get(b"V")
            .ok()
            .and_then(|v| resolve(doc, v))
            .and_then(|v| v.as_dict().ok());
        if let (true, Some(sig)) = (is_sig, sig) {
            let name = field
                .get(b"T")
                .and_then(Object::as_str)
                .map(decode_text)
                .unwrap_or_default();
            out.push(Field {
                name,
                sig: sig.clone(),
            });
        }
    }
    out
}

fn decode_text(bytes: &[u8]) -> String {
    match bytes.strip_prefix(&[0xFE, 0xFF]) {
        Some(utf16) => String::from_utf16_lossy(
            &utf16
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect::<Vec<_>>(),
        ),
        None => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// True when `bytes` ends a revision: `%%EOF` then at most end-of-line characters.
fn ends_with_eof(bytes: &[u8]) -> bool {
    let trimmed = bytes
        .iter()
        .rposition(|b| !b"\r\n \t\0".contains(b))
        .map_or(&bytes[..0], |i| &bytes[..=i]);
    trimmed.ends_with(b"%%EOF")
}

/// The two ranges a signature's /ByteRange `[0 b c d]` covers, `[0, b)` and `[c, c + d)`, every
/// number checked: the gap between them is the /Contents value, and the ranges lie in the file.
fn ranges(field: &Field, size: u64) -> Result<[u64; 4], VerifyError> {
    let name = &field.name;
    let bad = |what: &str| {
        VerifyError::Malformed(format!("la signature « {name} » a un /ByteRange {what}"))
    };
    let numbers = field
        .sig
        .get(b"ByteRange")
        .and_then(Object::as_array)
        .map_err(|_| bad("absent"))?
        .iter()
        .map(|o| o.as_i64().ok().and_then(|n| u64::try_from(n).ok()))
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| bad("qui n'est pas fait d'entiers positifs"))?;
    let [a, b, c, d] = <[u64; 4]>::try_from(numbers)
        .map_err(|_| bad("de plus ou moins de 4 nombres (4 entiers attendus)"))?;
    let end = c
        .checked_add(d)
        .ok_or_else(|| bad("qui dépasse toute taille de fichier"))?;
    if end > size {
        return Err(VerifyError::Truncated(format!(
            "la signature « {name} » couvre selon son /ByteRange {end} octets, mais le fichier n'en compte que {size}"
        )));
    }
    if a != 0 || b == 0 || b.checked_add(2).is_none_or(|min| c < min) {
        return Err(bad(&format!(
            "incohérent ([{a} {b} {c} {d}] : la première plage doit partir du début du fichier et la seconde suivre la valeur /Contents)"
        )));
    }
    Ok([a, b, c, d])
}

/// Signature fields a verification reads; no real document has this many.
const SIGNATURES_MAX: usize = 64;

/// Verifies every signature of a PDF held in memory against the certificates in `trust`.
pub fn verify(bytes: &[u8], trust: &[Certificate]) -> Result<Report, VerifyError> {
    verify_from(std::io::Cursor::new(bytes), trust)
}

/// Verifies every signature of a PDF read by ranges from `source`: its signed ranges are hashed
/// as a stream, and only its structure is held in memory (at most 256 Mio per revision).
pub fn verify_from<R: Read + Seek>(
    source: R,
    trust: &[Certificate],
) -> Result<Report, VerifyError> {
    let unreadable = |e: String| VerifyError::Malformed(e);
    let mut file = Lecteur::new(source).map_err(|e| unreadable(e.to_string()))?;
    let size = file.taille();
    if file.lire(0, 5, size).map_err(unreadable)? != b"%PDF-" {
        return Err(VerifyError::NotPdf("en-tête %PDF- absent".into()));
    }
    let tail = file
        .lire(size.saturating_sub(1024), 1024, size)
        .map_err(unreadable)?;
    if !ends_with_eof(&tail) {
        return Err(VerifyError::Truncated(
            "il ne se termine pas par %%EOF, la fin du fichier manque".into(),
        ));
    }
    let doc = file.revision(size).map_err(unreadable)?;
    let fields = signature_fields(&doc);
    // Each signature costs a pass over the file and a reading of its revision.
    if fields.len() > SIGNATURES_MAX {
        return Err(VerifyError::Malformed(format!(
            "{} champs de signature : la vérification en lit {SIGNATURES_MAX} au plus, chacun demandant de relire le fichier",
            fields.len()
        )));
    }
    let mut fields = fields
        .into_iter()
        .map(|f| ranges(&f, size).map(|r| (f, r)))
        .collect::<Result<Vec<_>, _>>()?;
    fields.sort_by_key(|(_, [_, _, c, d])| c + d);

    // DSS certificates help build paths for signatures whose CMS lacks intermediates.
    let dss_certs = dss_certificates(&doc, &mut file);
    let mut problems = Vec::new();
    let mut signatures = Vec::new();
    for (field, range) in &fields {
        let digest = signed_digest(&mut file, *range);
        signatures.push(check_signature(field, range, digest, trust, &dss_certs));
    }
    if signatures.is_empty() {
        problems.push("aucune signature dans ce document".into());
    }
    // What came after each signature, revision by revision.
    for (report, (_, [_, _, c, d])) in signatures.iter_mut().zip(&fields) {
        let end = c + d;
        report.covers_whole_file = end == size;
        if report.covers_whole_file {
            continue;
        }
        let signed = match file.revision(end) {
            Ok(d) => d,
            Err(e) => {
                report
                    .problems
                    .push(format!("révision signée illisible ({e})"));
                continue;
            }
        };
        for change in diff::changes(&signed, &doc) {
            match change {
                Change::Permitted(c) => report.permitted_changes_after.push(c),
                Change::Forbidden(c) => report.forbidden_changes_after.push(c),
            }
        }
        if !report.forbidden_changes_after.is_empty() {
            report.problems.push(format!(
                "le document a été modifié après cette signature : {}",
                report.forbidden_changes_after.join(" ; ")
            ));
        }
    }
    for report in &mut signatures {
        report.valid = report.intact && report.trusted && report.problems.is_empty();
    }
    let pades_level = pades_level(&doc, &signatures);
    let valid = problems.is_empty() && signatures.iter().all(|s| s.valid);
    let mut hasher = Sha256::new();
    file.parcourir(&[(0, size)], |b| hasher.update(b))
        .map_err(unreadable)?;
    Ok(Report {
        sha256: Sha256Digest(hasher.finalize().into()),
        size,
        pades_level,
        signatures,
        valid,
        problems,
    })
}

fn dss_certificates<R: Read + Seek>(doc: &Document, file: &mut Lecteur<R>) -> Vec<Certificate> {
    use der::Decode;
    let dss = doc
        .trailer
        .get(b"Root")
        .ok()
        .and_then(|r| resolve(doc, r))
        .and_then(|c| c.as_dict().ok())
        .and_then(|c| c.get(b"DSS").ok())
        .and_then(|d| resolve(doc, d))
        .and_then(|d| d.as_dict().ok());
    dss.and_then(|d| d.get(b"Certs").ok())
        .and_then(|a| resolve(doc, a))
        .and_then(|a| a.as_array().ok())
        .into_iter()
        .flatten()
        .filter_map(|c| resolve(doc, c))
        .filter_map(|c| c.as_stream().ok())
        .filter_map(|s| file.donnees(s, FLUX_LU_MAX).ok().flatten())
        .filter_map(|der| Certificate::from_der(&der).ok())
        .collect()
}

fn pades_level(doc: &Document, signatures: &[SignatureReport]) -> Option<&'static str> {
    let first = signatures.iter().find(|s| s.kind == "signature")?;
    let has_dss = doc
        .trailer
        .get(b"Root")
        .ok()
        .and_then(|r| resolve(doc, r))
        .and_then(|c| c.as_dict().ok())
        .is_some_and(|c| c.get(b"DSS").is_ok());
    let archived = signatures
        .iter()
        .any(|s| s.kind == "document_timestamp" && s.valid);
    Some(
        match (
            first.timestamp.as_ref().is_some_and(|t| t.valid),
            has_dss,
            archived,
        ) {
            (false, _, _) => "B-B",
            (true, false, _) => "B-T",
            (true, true, false) => "B-LT",
            (true, true, true) => "B-LTA",
        },
    )
}

fn check_signature(
    field: &Field,
    range: &[u64; 4],
    digest: Result<[u8; 32], String>,
    trust: &[Certificate],
    extra: &[Certificate],
) -> SignatureReport {
    let sub_filter = field
        .sig
        .get(b"SubFilter")
        .and_then(Object::as_name)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let document_timestamp = sub_filter == "ETSI.RFC3161";
    let mut report = SignatureReport {
        field: field.name.clone(),
        kind: if document_timestamp {
            "document_timestamp"
        } else {
            "signature"
        },
        sub_filter: sub_filter.clone(),
        signer: None,
        digest_algorithm: "SHA-256",
        byte_range: range.to_vec(),
        covers_whole_file: false,
        permitted_changes_after: Vec::new(),
        forbidden_changes_after: Vec::new(),
        timestamp: None,
        intact: false,
        trusted: false,
        problems: Vec::new(),
        valid: false,
    };
    let digest = match digest {
        Ok(d) => d,
        Err(e) => {
            report.problems.push(e);
            return report;
        }
    };
    let contents = field
        .sig
        .get(b"Contents")
        .and_then(Object::as_str)
        .unwrap_or_default();
    if document_timestamp {
        match tsa::verify_token(contents, &Sha256Digest(digest), trust) {
            Ok(token) => {
                report.intact = true;
                report.trusted = true;
                report.timestamp = Some(TimestampInfo {
                    time: token.time,
                    tsa: token.tsa,
                    valid: true,
                });
            }
            Err(e) => {
                // Tell apart a broken document from an unknown TSA.
                report.intact = tsa::token_claims(contents)
                    .is_some_and(|(imprint, _)| imprint.0 == digest)
                    && tsa::verify_token(
                        contents,
                        &Sha256Digest(digest),
                        &tsa::token_certificates(contents),
                    )
                    .is_ok();
                report.problems.push(if report.intact {
                    e.to_string()
                } else {
                    format!("horodatage de document invalide : {e}")
                });
            }
        }
        return report;
    }
    if sub_filter != "ETSI.CAdES.detached" && sub_filter != "adbe.pkcs7.detached" {
        report.problems.push(format!(
            "format de signature /{sub_filter} non pris en charge"
        ));
        return report;
    }
    let parsed = match cms::parse(contents) {
        Ok(p) => p,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    let checked = parsed
        .signer_info()
        .and_then(|info| Ok((info, parsed.signer_cert(info)?)));
    let (info, cert) = match checked {
        Ok(x) => x,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    report.signer = Some(cert_info(cert));
    match cms::verify_signer_info(info, cert, ID_DATA, &digest) {
        Ok(()) => report.intact = true,
        Err(e) => report.problems.push(e.to_string()),
    }
    if sub_filter == "ETSI.CAdES.detached" && !cms::has_signing_certificate_v2(info) {
        report
            .problems
            .push("attribut ESS signing-certificate-v2 absent (exigé par PAdES)".into());
    }
    // The signature timestamp fixes when the signature existed; certificates are judged then.
    let mut at = SystemTime::now();
    match cms::timestamp_token(info) {
        Ok(Some(token)) => {
            let imprint = Sha256Digest::of(info.signature.as_bytes());
            match tsa::verify_token(&token, &imprint, trust) {
                Ok(t) => {
                    at = t.time.into();
                    report.timestamp = Some(TimestampInfo {
                        time: t.time,
                        tsa: t.tsa,
                        valid: true,
                    });
                }
                Err(e) => {
                    if let Some((_, time)) = tsa::token_claims(&token) {
                        let tsa_name = tsa::token_certificates(&token)
                            .first()
                            .map(chain::subject)
                            .unwrap_or_default();
                        report.timestamp = Some(TimestampInfo {
                            time,
                            tsa: tsa_name,
                            valid: false,
                        });
                    }
                    report
                        .problems
                        .push(format!("horodatage de la signature : {e}"));
                }
            }
        }
        Ok(None) => {}
        Err(e) => report
            .problems
            .push(format!("horodatage de la signature illisible : {e}")),
    }
    let pool: Vec<Certificate> = parsed.certificates.iter().chain(extra).cloned().collect();
    match chain::verify_path(cert, &pool, trust, at) {
        Ok(_) => report.trusted = true,
        Err(e) => report.problems.push(e),
    }
    report
}

/// SHA-256 of the two byte ranges, read as a stream, after checking that the gap is exactly
/// the /Contents hex string (nothing else may escape the signature).
fn signed_digest<R: Read + Seek>(
    file: &mut Lecteur<R>,
    [_, b, c, d]: [u64; 4],
) -> Result<[u8; 32], String> {
    let outside = "/ByteRange laisse hors signature autre chose que la valeur /Contents";
    let mut hex = true;
    file.parcourir(&[(b + 1, c - b - 2)], |chunk| {
        hex &= chunk.iter().all(u8::is_ascii_hexdigit)
    })?;
    let ends = (file.lire(b, 1, c)?, file.lire(c - 1, 1, c)?);
    if !hex || ends != (b"<".to_vec(), b">".to_vec()) {
        return Err(outside.into());
    }
    let mut hasher = Sha256::new();
    file.parcourir(&[(0, b), (c, d)], |chunk| hasher.update(chunk))?;
    Ok(hasher.finalize().into())
}
