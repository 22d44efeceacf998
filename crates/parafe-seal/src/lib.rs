//! Seals finished documents as PAdES (B-T, then B-LTA) with the PLIE's seal certificate and an
//! RFC 3161 timestamp, and verifies sealed documents independently.
//!
//! Split as pyHanko is: [`pdf`] writes bytes (incremental updates), [`cms`] builds and checks
//! CMS structures, [`tsa`] obtains and checks timestamps, [`keys`] and [`pki`] hold the
//! certificates, [`chain`] and [`verify`] decide what is valid. [`seal`] strings them together.

pub mod chain;
mod cms;
mod diff;
pub mod keys;
mod pdf;
mod pki;
pub mod revocation;
pub mod tsa;
pub mod verify;

pub use keys::{init, InitReport, KeyError, Keys, SealKey};
pub use pdf::PdfError;
pub use tsa::{Tsa, TsaError};
pub use verify::{verify, Report};

use der::Encode;
use parafe_core::model::{RenderedPdf, SealZone, SealedPdf, Sha256Digest};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Seal key and timestamp authority (`[seal]` in parafe.toml). Every field is optional: without
/// any, the development keys of `parafe init` and the local TSA are used.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SealConfig {
    /// RFC 3161 service (`https://…`); when absent, the built-in local TSA, non-qualified.
    pub tsa_url: Option<String>,
    /// Whether `tsa_url` is a qualified TSA (eIDAS); it is written as such in the evidence.
    pub tsa_qualifiee: bool,
    /// PEM certificates the remote TSA's tokens must chain to.
    pub tsa_confiance: Option<PathBuf>,
    /// The PLIE's seal as a PKCS#12 file (ECDSA P-256); relative paths start at the data dir.
    pub pkcs12: Option<PathBuf>,
    /// Name of the environment variable holding the PKCS#12 password (never the file).
    pub pkcs12_mot_de_passe_env: String,
    /// Further PEM files of certificates `parafe verify` trusts (the seal's CA in production).
    pub confiance: Vec<PathBuf>,
    /// The seals of the deployment's other PLIEs (`[seal.plies.<id>]`), by PLIE identifier.
    pub plies: BTreeMap<String, CachetConfig>,
}

/// One further PLIE's seal (`[seal.plies.<id>]`): its PKCS#12 file and the environment variable
/// holding its password, both required.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachetConfig {
    pub pkcs12: PathBuf,
    pub pkcs12_mot_de_passe_env: String,
}

impl Default for SealConfig {
    fn default() -> Self {
        Self {
            tsa_url: None,
            tsa_qualifiee: false,
            tsa_confiance: None,
            pkcs12: None,
            pkcs12_mot_de_passe_env: "PARAFE_PKCS12_MOT_DE_PASSE".into(),
            confiance: Vec::new(),
            plies: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Pdf(#[from] PdfError),
    #[error(transparent)]
    Tsa(#[from] TsaError),
    #[error("construction de la signature CMS impossible : {0}")]
    Cms(#[from] cms::CmsError),
    #[error("la zone du cachet désigne la page {page}, absente du document")]
    Zone { page: usize },
    #[error(transparent)]
    Revocation(#[from] revocation::RevocationError),
}

/// Seals a rendered document with `seal` (its PLIE's, from [`Keys::cachet`]), its visible seal
/// in the document's `<zone-sceau>` when it has one.
pub async fn seal(
    pdf: &RenderedPdf,
    seal: &SealKey,
    keys: &Keys,
    tsa: &Tsa,
) -> Result<SealedPdf, SealError> {
    seal_bytes(pdf.bytes(), pdf.seal_zone(), seal, keys, tsa).await
}

/// Seals PDF bytes: PAdES B-T (CAdES signature with its signature timestamp) as one
/// incremental update, then the B-LTA update (DSS with the certificates of the seal and of the
/// TSA and their CRLs, document timestamp). Without a zone, the signature widget is invisible
/// on page 1.
pub async fn seal_bytes(
    bytes: &[u8],
    zone: Option<SealZone>,
    seal: &SealKey,
    keys: &Keys,
    tsa: &Tsa,
) -> Result<SealedPdf, SealError> {
    let mut file = pdf::PdfFile::parse(bytes)?;
    let widget = match zone {
        Some(zone) if zone.page >= file.page_count() => {
            return Err(SealError::Zone {
                page: zone.page + 1,
            })
        }
        Some(zone) => pdf::Widget {
            page: zone.page,
            rect: zone.rect,
        },
        None => pdf::Widget {
            page: 0,
            rect: [0.0; 4],
        },
    };
    let signer_cert = seal
        .chain
        .first()
        .ok_or(cms::CmsError::Invalid("chaîne du cachet vide".into()))?;
    let chain_len: usize = seal
        .chain
        .iter()
        .map(|c| c.to_der().map_or(0, |d| d.len()))
        .sum();

    // B-T: the signature, then a timestamp over its value (RFC 3161 appendix A).
    let kind = pdf::SigKind::Signature {
        name: chain::subject(signer_cert),
        reason:
            "Cachet électronique du PLIE : document scellé à la fin de la collecte des signatures"
                .into(),
        time: chrono::Utc::now(),
    };
    let prepared = file.append_signature(
        &kind,
        widget,
        chain_len + tsa.token_size_hint() + 1024,
        None,
    )?;
    let digest = file.signed_digest(&prepared);
    let mut signer_info = cms::CmsSigner {
        key: &seal.key,
        chain: &seal.chain,
    }
    .sign(cms::ID_DATA, &digest)?;
    let timestamp = tsa
        .timestamp(&Sha256Digest::of(signer_info.signature.as_bytes()))
        .await?;
    cms::add_timestamp(&mut signer_info, &timestamp.der)?;
    file.fill(
        prepared,
        &cms::signed_data(cms::ID_DATA, None, signer_info, &seal.chain)?,
    )?;

    // B-LTA: everything a verifier needs in 2033 without parafe, then a document timestamp.
    let certs: Vec<_> = seal
        .chain
        .iter()
        .chain(tsa.local_chain())
        .cloned()
        .chain(tsa::token_certificates(&timestamp.der))
        .collect();
    let issuers: Vec<_> = certs
        .iter()
        .chain(&keys.trust)
        .chain(tsa.trust())
        .cloned()
        .collect();
    let mut dss = pdf::Dss {
        certs: Vec::new(),
        crls: keys.crls.clone(),
    };
    // The development CA's CRL is at hand: its certificates need no fetching.
    let to_fetch: Vec<_> = certs
        .iter()
        .filter(|c| !keys.crls.iter().any(|crl| revocation::covers(crl, c)))
        .cloned()
        .collect();
    for crl in keys.revocation.crls(&to_fetch, &issuers).await? {
        if !dss.crls.contains(&crl) {
            dss.crls.push(crl);
        }
    }
    for cert in &certs {
        let der = cert.to_der().map_err(cms::CmsError::from)?;
        if !dss.certs.contains(&der) {
            dss.certs.push(der);
        }
    }
    let invisible = pdf::Widget {
        page: 0,
        rect: [0.0; 4],
    };
    let prepared = file.append_signature(
        &pdf::SigKind::DocTimeStamp,
        invisible,
        tsa.token_size_hint() + 512,
        Some(&dss),
    )?;
    let doc_timestamp = tsa
        .timestamp(&Sha256Digest(file.signed_digest(&prepared)))
        .await?;
    file.fill(prepared, &doc_timestamp.der)?;

    Ok(SealedPdf::new(file.into_bytes(), timestamp))
}
