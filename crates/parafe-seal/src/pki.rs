//! The development PKI of the zero-setup default: a certificate authority that issues the PLIE's
//! seal certificate and the local TSA's certificate, and a CRL for the DSS.
//!
//! The leaf certificates declare no CRL distribution point (nor OCSP responder): nothing serves
//! this CA's CRL, and a point nobody serves makes every validator that checks revocation
//! online fail (pyHanko's default, hard-fail). Declaring none is RFC 5280's way of saying so;
//! the CRL still travels in each sealed document's DSS, where long-term (AdES) validation
//! finds it, since a CRL without issuing distribution point covers every certificate of its CA.
//!
//! Only `parafe init` (and the CRL refresh of [`super::keys`]) issue anything; production
//! deployments bring their own certificates in a PKCS#12 file.

use const_oid::db::rfc5280::ID_KP_TIME_STAMPING;
use const_oid::AssociatedOid;
use der::asn1::BitString;
use der::{Decode, Encode};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned};
use std::str::FromStr;
use std::time::Duration;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::crl::{CertificateList, TbsCertList};
use x509_cert::ext::pkix::{CrlNumber, ExtendedKeyUsage};
use x509_cert::ext::AsExtension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

const YEAR: u64 = 365 * 24 * 3600;
/// How long a CRL stays current; [`super::keys`] issues a fresh one when it has expired.
pub const CRL_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
#[error("émission du certificat « {what} » impossible : {message}")]
pub struct PkiError {
    what: &'static str,
    message: String,
}

fn pki_error(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> PkiError {
    move |e| PkiError {
        what,
        message: e.to_string(),
    }
}

/// What a certificate is for.
#[derive(Clone, Copy)]
pub enum Role {
    /// The PLIE's electronic seal (signs documents).
    Seal,
    /// The local timestamp authority (signs TSTInfo only).
    Tsa,
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x10; // no leading zero to strip
    SerialNumber::new(&bytes).expect("16 octets forment un numéro de série valide")
}

/// A self-signed root for development.
pub fn issue_ca(key: &SigningKey, subject: &str) -> Result<Certificate, PkiError> {
    let err = pki_error("autorité de certification");
    let name = Name::from_str(subject).map_err(|e| err(&e))?;
    let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).map_err(|e| err(&e))?;
    let validity = Validity::from_now(Duration::from_secs(20 * YEAR)).map_err(|e| err(&e))?;
    let builder =
        CertificateBuilder::new(Profile::Root, random_serial(), validity, name, spki, key)
            .map_err(|e| err(&e))?;
    builder.build::<DerSignature>().map_err(|e| err(&e))
}

/// A leaf certificate issued by the development CA.
pub fn issue_leaf(
    ca_key: &SigningKey,
    ca: &Certificate,
    key: &SigningKey,
    subject: &str,
    role: Role,
) -> Result<Certificate, PkiError> {
    let err = pki_error(match role {
        Role::Seal => "cachet du PLIE",
        Role::Tsa => "autorité d'horodatage",
    });
    let name = Name::from_str(subject).map_err(|e| err(&e))?;
    let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).map_err(|e| err(&e))?;
    let validity = Validity::from_now(Duration::from_secs(5 * YEAR)).map_err(|e| err(&e))?;
    let profile = Profile::Leaf {
        issuer: ca.tbs_certificate.subject.clone(),
        enable_key_agreement: false,
        enable_key_encipherment: false,
    };
    let mut builder =
        CertificateBuilder::new(profile, random_serial(), validity, name, spki, ca_key)
            .map_err(|e| err(&e))?;
    if let Role::Tsa = role {
        builder
            .add_extension(&TimeStampingEku)
            .map_err(|e| err(&e))?;
    }
    builder.build::<DerSignature>().map_err(|e| err(&e))
}

/// RFC 3161 § 2.3: a TSA certificate carries exactly one extended key usage, timeStamping,
/// marked critical (the x509-cert type marks it non-critical, hence this wrapper).
struct TimeStampingEku;

impl AssociatedOid for TimeStampingEku {
    const OID: const_oid::ObjectIdentifier = ExtendedKeyUsage::OID;
}

impl Encode for TimeStampingEku {
    fn encoded_len(&self) -> der::Result<der::Length> {
        ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]).encoded_len()
    }
    fn encode(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]).encode(writer)
    }
}

impl AsExtension for TimeStampingEku {
    fn critical(&self, _subject: &Name, _extensions: &[x509_cert::ext::Extension]) -> bool {
        true
    }
}

/// An empty CRL (nothing revoked) of the development CA, current for [`CRL_LIFETIME`].
pub fn issue_crl(ca_key: &SigningKey, ca: &Certificate) -> Result<Vec<u8>, PkiError> {
    let err = pki_error("liste de révocation");
    let now = std::time::SystemTime::now();
    let this_update = Time::try_from(now).map_err(|e| err(&e))?;
    let next_update = Time::try_from(now + CRL_LIFETIME).map_err(|e| err(&e))?;
    let signature: AlgorithmIdentifierOwned = ca_key
        .signature_algorithm_identifier()
        .map_err(|e| err(&e))?;
    // Increasing with time, as RFC 5280 § 5.2.3 asks.
    let seconds = this_update.to_unix_duration().as_secs().to_be_bytes();
    let crl_number = CrlNumber(der::asn1::Uint::new(&seconds).map_err(|e| err(&e))?);
    let number_ext = x509_cert::ext::Extension {
        extn_id: CrlNumber::OID,
        critical: false,
        extn_value: der::asn1::OctetString::new(crl_number.to_der().map_err(|e| err(&e))?)
            .map_err(|e| err(&e))?,
    };
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: signature.clone(),
        issuer: ca.tbs_certificate.subject.clone(),
        this_update,
        next_update: Some(next_update),
        revoked_certificates: None,
        crl_extensions: Some(vec![number_ext]),
    };
    let tbs_der = tbs.to_der().map_err(|e| err(&e))?;
    let sig: DerSignature = ca_key.sign(&tbs_der);
    let list = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: signature,
        signature: BitString::from_bytes(sig.as_bytes()).map_err(|e| err(&e))?,
    };
    list.to_der().map_err(|e| err(&e))
}

/// `nextUpdate` of a DER CRL, if it can be read.
pub fn crl_next_update(der: &[u8]) -> Option<std::time::SystemTime> {
    let list = CertificateList::from_der(der).ok()?;
    list.tbs_cert_list.next_update.map(|t| t.to_system_time())
}

/// The public key of a certificate as a P-256 verifying key (the only algorithm parafe issues
/// and checks).
pub fn p256_key(cert: &Certificate) -> Option<p256::ecdsa::VerifyingKey> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    p256::ecdsa::VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()).ok()
}

/// True when `key` is the key certified by `cert`.
pub fn key_matches(key: &SigningKey, cert: &Certificate) -> bool {
    SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
        .is_ok_and(|spki| spki == cert.tbs_certificate.subject_public_key_info)
}
