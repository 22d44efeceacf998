//! Revocation data for the DSS: the CRLs that the certificates of a seal declare.
//!
//! `pyhanko sign validate` checks revocation online, at today's date, for every certificate that
//! declares where to (a CRL distribution point or an OCSP responder); long-term validation
//! (`pyhanko sign adesverify`) reads the data the document carries. So, when sealing, parafe
//! fetches the CRL of every HTTP distribution point of the seal's chain and of the timestamp
//! authority's, checks it against the issuer's certificate, refuses to seal with a revoked
//! certificate, and joins it to the DSS; a CRL is reused until its nextUpdate. OCSP responses
//! are not fetched: a certificate that declares only an OCSP responder gets nothing joined.

use super::cms::verify_signature;
use der::{Decode, Encode};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints};
use x509_cert::Certificate;

/// A CRL larger than this is refused: national CAs publish a few MB at most.
const MAX_CRL_BYTES: usize = 32 * 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    #[error("liste de révocation {url} du certificat « {subject} » injoignable : {message}. Le scellement est reporté : sans elle, le document ne se vérifierait pas à long terme")]
    Unreachable {
        url: String,
        subject: String,
        message: String,
    },
    #[error("liste de révocation {url} du certificat « {subject} » refusée : {message}")]
    Invalid {
        url: String,
        subject: String,
        message: String,
    },
    #[error("le certificat « {subject} » déclare une liste de révocation signée par « {issuer} », dont le certificat manque : ajoutez-le à [seal] confiance (cachet) ou tsa_confiance (horodatage)")]
    NoIssuer { subject: String, issuer: String },
    #[error("le certificat « {subject} » est révoqué depuis le {since} (heure de Paris, liste {url}) : rien n'est scellé avec lui ; installez un nouveau certificat")]
    Revoked {
        subject: String,
        since: String,
        url: String,
    },
}

/// Where a certificate says its revocation status is published (HTTP URLs only).
pub struct Sources {
    pub crl: Vec<String>,
    pub ocsp: Vec<String>,
}

impl Sources {
    pub fn of(cert: &Certificate) -> Sources {
        let mut sources = Sources {
            crl: Vec::new(),
            ocsp: Vec::new(),
        };
        for ext in cert.tbs_certificate.extensions.iter().flatten() {
            let value = ext.extn_value.as_bytes();
            if ext.extn_id == const_oid::db::rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS {
                let points = CrlDistributionPoints::from_der(value).map(|p| p.0);
                for point in points.into_iter().flatten() {
                    if let Some(DistributionPointName::FullName(names)) = point.distribution_point {
                        sources.crl.extend(names.iter().filter_map(http_url));
                    }
                }
            } else if ext.extn_id == const_oid::db::rfc5280::ID_PE_AUTHORITY_INFO_ACCESS {
                let access = AuthorityInfoAccessSyntax::from_der(value).map(|a| a.0);
                sources.ocsp.extend(
                    access
                        .into_iter()
                        .flatten()
                        .filter(|a| a.access_method == const_oid::db::rfc5280::ID_AD_OCSP)
                        .filter_map(|a| http_url(&a.access_location)),
                );
            }
        }
        sources
    }

    pub fn is_empty(&self) -> bool {
        self.crl.is_empty() && self.ocsp.is_empty()
    }
}

fn http_url(name: &GeneralName) -> Option<String> {
    match name {
        GeneralName::UniformResourceIdentifier(uri) if uri.as_str().starts_with("http://") => {
            Some(uri.as_str().to_owned())
        }
        _ => None,
    }
}

/// True for a self-issued certificate: a trust anchor, whose revocation nobody checks.
pub fn self_issued(cert: &Certificate) -> bool {
    cert.tbs_certificate.subject == cert.tbs_certificate.issuer
}

/// True when `crl` (DER) is issued by `cert`'s issuer: without an issuing distribution point,
/// as parafe's development CA issues it, it covers every certificate of that issuer.
pub fn covers(crl: &[u8], cert: &Certificate) -> bool {
    CertificateList::from_der(crl)
        .is_ok_and(|l| l.tbs_cert_list.issuer == cert.tbs_certificate.issuer)
}

/// Fetches CRLs and keeps each until its nextUpdate.
pub struct Revocation {
    client: reqwest::Client,
    cache: Mutex<HashMap<String, (Vec<u8>, SystemTime)>>,
}

impl Default for Revocation {
    fn default() -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .build()
                .unwrap_or_default(),
            cache: Mutex::default(),
        }
    }
}

impl Revocation {
    /// The current CRLs of every certificate of `certs` that declares an HTTP distribution
    /// point, each checked against its issuer (found in `issuers`).
    pub async fn crls(
        &self,
        certs: &[Certificate],
        issuers: &[Certificate],
    ) -> Result<Vec<Vec<u8>>, RevocationError> {
        let mut crls = Vec::new();
        for cert in certs.iter().filter(|c| !self_issued(c)) {
            let urls = Sources::of(cert).crl;
            let Some(url) = urls.first() else {
                continue;
            };
            let subject = super::chain::subject(cert);
            let issuer = issuers
                .iter()
                .find(|i| i.tbs_certificate.subject == cert.tbs_certificate.issuer)
                .ok_or_else(|| RevocationError::NoIssuer {
                    subject: subject.clone(),
                    issuer: cert.tbs_certificate.issuer.to_string(),
                })?;
            let kept = self.kept(url);
            let der = match &kept {
                Some(der) => der.clone(),
                None => self.fetch(url, &subject).await?,
            };
            match check(&der, cert, issuer) {
                Err(Refusal::Invalid(message)) => {
                    return Err(RevocationError::Invalid {
                        url: url.clone(),
                        subject,
                        message,
                    })
                }
                // A valid CRL, kept until its nextUpdate, whatever it says of this certificate.
                checked => {
                    if kept.is_none() {
                        self.keep(url, &der);
                    }
                    if let Err(Refusal::Revoked(since)) = checked {
                        return Err(RevocationError::Revoked {
                            subject,
                            since,
                            url: url.clone(),
                        });
                    }
                }
            }
            if !crls.contains(&der) {
                crls.push(der);
            }
        }
        Ok(crls)
    }

    /// The CRL kept for `url`, while it is current.
    fn kept(&self, url: &str) -> Option<Vec<u8>> {
        let now = SystemTime::now();
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(url)
            .filter(|(_, next)| *next > now)
            .map(|(der, _)| der.clone())
    }

    fn keep(&self, url: &str, der: &[u8]) {
        let next = CertificateList::from_der(der)
            .ok()
            .and_then(|l| l.tbs_cert_list.next_update);
        if let Some(next) = next {
            self.cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(url.to_owned(), (der.to_vec(), next.to_system_time()));
        }
    }

    async fn fetch(&self, url: &str, subject: &str) -> Result<Vec<u8>, RevocationError> {
        let unreachable = |message: String| RevocationError::Unreachable {
            url: url.to_owned(),
            subject: subject.to_owned(),
            message,
        };
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| unreachable(e.to_string()))?;
        let mut der = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unreachable(e.to_string()))?
        {
            if der.len() + chunk.len() > MAX_CRL_BYTES {
                return Err(RevocationError::Invalid {
                    url: url.to_owned(),
                    subject: subject.to_owned(),
                    message: format!("plus de {} Mo", MAX_CRL_BYTES / (1024 * 1024)),
                });
            }
            der.extend_from_slice(&chunk);
        }
        Ok(der)
    }
}

enum Refusal {
    Invalid(String),
    Revoked(String),
}

/// A CRL of `cert`'s issuer, signed by it, current, and not listing `cert`.
fn check(der: &[u8], cert: &Certificate, issuer: &Certificate) -> Result<(), Refusal> {
    let invalid = |m: &str| Refusal::Invalid(m.to_owned());
    let list = CertificateList::from_der(der)
        .map_err(|_| invalid("ce n'est pas une liste de révocation X.509 (DER)"))?;
    let tbs = &list.tbs_cert_list;
    if tbs.issuer != cert.tbs_certificate.issuer {
        return Err(invalid(
            "émise par une autre autorité que celle du certificat",
        ));
    }
    let tbs_der = tbs.to_der().map_err(|e| Refusal::Invalid(e.to_string()))?;
    verify_signature(
        issuer,
        &list.signature_algorithm,
        &tbs_der,
        list.signature.raw_bytes(),
    )
    .map_err(|e| Refusal::Invalid(format!("signature : {e}")))?;
    let now = SystemTime::now();
    if tbs.next_update.is_none_or(|t| t.to_system_time() <= now) {
        return Err(invalid(
            "périmée (sa date de prochaine mise à jour est passée)",
        ));
    }
    let revoked = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .find(|r| r.serial_number == cert.tbs_certificate.serial_number);
    match revoked {
        Some(r) => Err(Refusal::Revoked(parafe_core::model::heure_de_paris(
            r.revocation_date.to_system_time().into(),
        ))),
        None => Ok(()),
    }
}
