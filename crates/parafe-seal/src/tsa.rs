//! RFC 3161 timestamps: the client of a remote timestamp authority, the built-in local TSA of
//! the zero-setup default (non-qualified), and the verification of a token.
//!
//! There is no fallback between the two: when the configured TSA cannot be reached, sealing
//! fails and the workflow retries later. A time read from the local clock is never passed off
//! as a remote TSA's.

use super::chain;
use super::cms::{self, CmsSigner, ID_CT_TST_INFO};
use super::keys::{Keys, LocalTsaKey};
use super::SealConfig;
use const_oid::db::rfc5912::ID_SHA_256;
use const_oid::ObjectIdentifier;
use der::asn1::{GeneralizedTime, Int, OctetString};
use der::{Decode, Encode};
use parafe_core::model::{Sha256Digest, TimestampToken};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifier;
use std::time::{Duration, SystemTime};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::Certificate;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// The policy under which the local TSA issues tokens: an OID under the enterprise number IANA
/// reserves for documentation (RFC 5612), since a development TSA has no registered policy.
const LOCAL_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.1.1");

#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    #[error("autorité d'horodatage {url} injoignable : {message}. Le scellement est reporté : aucun horodatage de repli n'est utilisé")]
    Unreachable { url: String, message: String },
    #[error("réponse de l'autorité d'horodatage {url} refusée : {message}")]
    BadResponse { url: String, message: String },
    #[error("jeton d'horodatage invalide : {0}")]
    InvalidToken(String),
    #[error("aucune autorité d'horodatage : configurez [seal] tsa_url ou lancez `parafe init` pour l'horodatage local")]
    NotConfigured,
    #[error("horodatage local impossible : {0}")]
    Local(String),
}

/// Where timestamps come from.
pub enum Tsa {
    /// The built-in TSA of the zero-setup default, labelled non-qualified.
    Local(LocalTsa),
    /// An RFC 3161 service over HTTP, from `[seal] tsa_url`.
    Remote(RemoteTsa),
}

pub struct LocalTsa {
    key: LocalTsaKey,
}

pub struct RemoteTsa {
    url: String,
    client: reqwest::Client,
    /// Anchors its tokens must chain to (`[seal] tsa_confiance`); empty: the token's own
    /// certificate is accepted and the document verification judges trust.
    trust: Vec<Certificate>,
    qualified: bool,
}

impl Tsa {
    /// How evidence names this authority: its certificate's subject, or its URL.
    pub fn nom(&self) -> String {
        match self {
            Tsa::Local(local) => local
                .key
                .chain
                .first()
                .map_or_else(|| "autorité locale".into(), super::chain::subject),
            Tsa::Remote(remote) => remote.url.clone(),
        }
    }

    /// Whether its tokens are qualified (eIDAS), as the configuration says.
    pub fn qualifiee(&self) -> bool {
        matches!(self, Tsa::Remote(remote) if remote.qualified)
    }

    /// The TSA of the configuration: the remote one when `tsa_url` is set, else the local one.
    pub fn from_config(
        data_dir: &std::path::Path,
        config: &SealConfig,
        keys: &Keys,
    ) -> Result<Tsa, TsaError> {
        match &config.tsa_url {
            Some(url) => {
                let mut trust = Vec::new();
                if let Some(path) = &config.tsa_confiance {
                    let path = if path.is_absolute() {
                        path.clone()
                    } else {
                        data_dir.join(path)
                    };
                    trust = super::keys::read_certs(&path)
                        .map_err(|e| TsaError::InvalidToken(e.to_string()))?;
                }
                Ok(Tsa::Remote(RemoteTsa::new(
                    url,
                    trust,
                    config.tsa_qualifiee,
                )))
            }
            None => keys
                .local_tsa
                .as_ref()
                .map(|k| {
                    Tsa::Local(LocalTsa {
                        key: LocalTsaKey {
                            key: k.key.clone(),
                            chain: k.chain.clone(),
                        },
                    })
                })
                .ok_or(TsaError::NotConfigured),
        }
    }

    /// A timestamp token over `imprint` (SHA-256).
    pub async fn timestamp(&self, imprint: &Sha256Digest) -> Result<TimestampToken, TsaError> {
        match self {
            Tsa::Local(local) => local.issue(imprint),
            Tsa::Remote(remote) => remote.request(imprint).await,
        }
    }

    /// Room to reserve in a PDF /Contents for one token: remote TSAs often embed their chain.
    pub fn token_size_hint(&self) -> usize {
        match self {
            Tsa::Local(local) => {
                1024 + local
                    .key
                    .chain
                    .first()
                    .map_or(0, |c| c.to_der().map_or(0, |d| d.len()))
            }
            Tsa::Remote(_) => 12 * 1024,
        }
    }

    /// Certificates of the local TSA (for the DSS); remote ones come from each token.
    pub fn local_chain(&self) -> &[Certificate] {
        match self {
            Tsa::Local(local) => &local.key.chain,
            Tsa::Remote(_) => &[],
        }
    }

    /// The anchors a remote TSA's tokens chain to (`[seal] tsa_confiance`); the local TSA's
    /// is the development CA, already among [`Keys::trust`].
    pub fn trust(&self) -> &[Certificate] {
        match self {
            Tsa::Local(_) => &[],
            Tsa::Remote(remote) => &remote.trust,
        }
    }
}

fn sha256_imprint(imprint: &Sha256Digest) -> Result<MessageImprint, der::Error> {
    Ok(MessageImprint {
        hash_algorithm: AlgorithmIdentifier {
            oid: ID_SHA_256,
            parameters: None,
        },
        hashed_message: OctetString::new(imprint.0.to_vec())?,
    })
}

fn positive_int(bytes: &[u8]) -> Result<Int, der::Error> {
    let mut b = bytes.to_vec();
    if let Some(first) = b.first_mut() {
        *first &= 0x7f;
        *first |= 0x01; // non-zero leading byte: minimal encoding
    }
    Int::new(&b)
}

impl LocalTsa {
    /// Signs a TSTInfo with the local clock. Synchronous: no network is involved.
    pub fn issue(&self, imprint: &Sha256Digest) -> Result<TimestampToken, TsaError> {
        let local = |e: &dyn std::fmt::Display| TsaError::Local(e.to_string());
        let cert = self
            .key
            .chain
            .first()
            .ok_or_else(|| TsaError::Local("certificat absent".into()))?;
        let now = SystemTime::now();
        let gen_time = GeneralizedTime::from_system_time(now).map_err(|e| local(&e))?;
        let info = TstInfo {
            version: TspVersion::V1,
            policy: LOCAL_POLICY,
            message_imprint: sha256_imprint(imprint).map_err(|e| local(&e))?,
            serial_number: positive_int(&rand::random::<[u8; 16]>()).map_err(|e| local(&e))?,
            gen_time,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: None,
            tsa: Some(GeneralName::DirectoryName(
                cert.tbs_certificate.subject.clone(),
            )),
            extensions: None,
        };
        let info_der = info.to_der().map_err(|e| local(&e))?;
        let signer = CmsSigner {
            key: &self.key.key,
            chain: &self.key.chain,
        };
        let digest: [u8; 32] = Sha256::digest(&info_der).into();
        let signer_info = signer
            .sign(ID_CT_TST_INFO, &digest)
            .map_err(|e| local(&e))?;
        let der = cms::signed_data(
            ID_CT_TST_INFO,
            Some(&info_der),
            signer_info,
            &self.key.chain[..1],
        )
        .map_err(|e| local(&e))?;
        Ok(TimestampToken {
            der,
            time: chrono::DateTime::from(gen_time.to_system_time()),
            tsa: chain::subject(cert),
            qualified: false,
        })
    }
}

impl RemoteTsa {
    pub fn new(url: &str, trust: Vec<Certificate>, qualified: bool) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            url: url.to_owned(),
            client,
            trust,
            qualified,
        }
    }

    async fn request(&self, imprint: &Sha256Digest) -> Result<TimestampToken, TsaError> {
        let bad = |message: String| TsaError::BadResponse {
            url: self.url.clone(),
            message,
        };
        let nonce = positive_int(&rand::random::<[u8; 8]>()).map_err(|e| bad(e.to_string()))?;
        let request = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: sha256_imprint(imprint).map_err(|e| bad(e.to_string()))?,
            req_policy: None,
            nonce: Some(nonce.clone()),
            cert_req: true,
            extensions: None,
        };
        let body = request.to_der().map_err(|e| bad(e.to_string()))?;
        let unreachable = |e: reqwest::Error| TsaError::Unreachable {
            url: self.url.clone(),
            message: e.to_string(),
        };
        let response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/timestamp-query")
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(TsaError::Unreachable {
                url: self.url.clone(),
                message: format!("statut HTTP {}", response.status()),
            });
        }
        let bytes = response.bytes().await.map_err(unreachable)?;
        let reply = TimeStampResp::from_der(&bytes)
            .map_err(|e| bad(format!("réponse RFC 3161 illisible ({e})")))?;
        // PKIStatus granted (0) or grantedWithMods (1).
        let status = reply.status.status as u8;
        if status > 1 {
            let text = reply
                .status
                .status_string
                .as_ref()
                .map(|s| format!("{s:?}"))
                .unwrap_or_default();
            return Err(bad(format!("demande refusée (statut {status}) {text}")));
        }
        let token = reply
            .time_stamp_token
            .ok_or_else(|| bad("jeton absent de la réponse".into()))?;
        let der = token.to_der().map_err(|e| bad(e.to_string()))?;
        let parsed = parse_token(&der).map_err(bad)?;
        if parsed.info.nonce.as_ref() != Some(&nonce) {
            return Err(bad(
                "le nonce de la réponse ne correspond pas à la demande".into()
            ));
        }
        if parsed.signer_cert.is_none() {
            return Err(bad(
                "le certificat de l'autorité n'est pas joint au jeton (certReq demandé)".into(),
            ));
        }
        let mut checked =
            check_token(&der, &parsed, imprint, &self.trust, self.trust.is_empty()).map_err(bad)?;
        checked.qualified = self.qualified;
        Ok(checked)
    }
}

/// A timestamp token read back.
struct ParsedToken {
    signed: cms::ParsedSignedData,
    info: TstInfo,
    info_der: Vec<u8>,
    signer_cert: Option<Certificate>,
}

fn parse_token(der: &[u8]) -> Result<ParsedToken, String> {
    let signed = cms::parse(der).map_err(|e| e.to_string())?;
    if signed.signed.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err("ce n'est pas un jeton d'horodatage (contenu autre que TSTInfo)".into());
    }
    let info_der = signed.econtent().map_err(|e| e.to_string())?;
    let info = TstInfo::from_der(&info_der).map_err(|e| format!("TSTInfo illisible ({e})"))?;
    let signer_cert = signed
        .signer_info()
        .ok()
        .and_then(|i| signed.signer_cert(i).ok())
        .cloned();
    Ok(ParsedToken {
        signed,
        info,
        info_der,
        signer_cert,
    })
}

/// Checks a parsed token: imprint, the TSA's signature, its timeStamping certificate, and
/// (unless `self_trusted`) the path to one of `trust` at genTime.
fn check_token(
    der: &[u8],
    token: &ParsedToken,
    imprint: &Sha256Digest,
    trust: &[Certificate],
    self_trusted: bool,
) -> Result<TimestampToken, String> {
    let mi = &token.info.message_imprint;
    if mi.hash_algorithm.oid != ID_SHA_256 {
        return Err("empreinte du jeton calculée avec un autre algorithme que SHA-256".into());
    }
    if mi.hashed_message.as_bytes() != imprint.0 {
        return Err("le jeton horodate une autre empreinte que celle attendue".into());
    }
    let signer_info = token.signed.signer_info().map_err(|e| e.to_string())?;
    let cert = token
        .signer_cert
        .as_ref()
        .ok_or("certificat de l'autorité d'horodatage absent du jeton")?;
    let digest: [u8; 32] = Sha256::digest(&token.info_der).into();
    cms::verify_signer_info(signer_info, cert, ID_CT_TST_INFO, &digest)
        .map_err(|e| e.to_string())?;
    if !chain::is_tsa_certificate(cert) {
        return Err("le certificat signataire n'est pas un certificat d'horodatage (extendedKeyUsage timeStamping critique)".into());
    }
    let time = token.info.gen_time.to_system_time();
    if !self_trusted {
        chain::verify_path(cert, &token.signed.certificates, trust, time)?;
    }
    Ok(TimestampToken {
        der: der.to_vec(),
        time: chrono::DateTime::from(token.info.gen_time.to_system_time()),
        tsa: chain::subject(cert),
        qualified: false,
    })
}

/// Verifies an RFC 3161 token over `imprint`: the TSA's signature over the TSTInfo, the
/// imprint, the TSA certificate's timeStamping usage and its path to one of `trust`.
/// `qualified` is false: qualification comes from the EU trusted lists, which a token alone
/// does not prove; callers that know their TSA is qualified say so.
pub fn verify_token(
    der: &[u8],
    imprint: &Sha256Digest,
    trust: &[Certificate],
) -> Result<TimestampToken, TsaError> {
    let token = parse_token(der).map_err(TsaError::InvalidToken)?;
    check_token(der, &token, imprint, trust, false).map_err(TsaError::InvalidToken)
}

/// The imprint a token timestamps and its time, without any check (to report what a broken
/// token claims).
pub fn token_claims(der: &[u8]) -> Option<(Sha256Digest, chrono::DateTime<chrono::Utc>)> {
    let token = parse_token(der).ok()?;
    let hashed: [u8; 32] = token
        .info
        .message_imprint
        .hashed_message
        .as_bytes()
        .try_into()
        .ok()?;
    Some((
        Sha256Digest(hashed),
        chrono::DateTime::from(token.info.gen_time.to_system_time()),
    ))
}

/// Certificates a token carries (for the DSS).
pub fn token_certificates(der: &[u8]) -> Vec<Certificate> {
    cms::parse(der).map(|p| p.certificates).unwrap_or_default()
}
