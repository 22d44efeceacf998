//! CMS SignedData (RFC 5652) as PAdES and RFC 3161 need it: signed attributes content-type,
//! message-digest and ESS signing-certificate-v2 (RFC 5035), never signing-time (PAdES puts
//! time in the timestamp), ECDSA P-256 with SHA-256; and the checks of the same on reading.
//!
//! Pure cryptography and DER: no PDF, no network, no trust policy (see `chain`).

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA,
};
use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ID_SHA_256};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, SigningKey};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

/// id-aa-timeStampToken (RFC 3161 appendix A): the signature-time-stamp unsigned attribute.
pub const ID_AA_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// id-ct-TSTInfo (RFC 3161 § 2.4.2): the content type of a timestamp token.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-data: the content type of a detached signature over PDF bytes.
pub const ID_DATA: ObjectIdentifier = const_oid::db::rfc5911::ID_DATA;

/// ESSCertIDv2 (RFC 5035); the hash algorithm is left out because it is the default, SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// SigningCertificateV2 (RFC 5035), without policies.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    #[error("encodage DER : {0}")]
    Der(#[from] der::Error),
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> CmsError {
    CmsError::Invalid(message.into())
}

pub fn sha256_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ID_SHA_256,
        parameters: None,
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// A signer: its key and its certificate chain, signer first.
pub struct CmsSigner<'a> {
    pub key: &'a SigningKey,
    pub chain: &'a [Certificate],
}

impl CmsSigner<'_> {
    fn cert(&self) -> Result<&Certificate, CmsError> {
        self.chain
            .first()
            .ok_or_else(|| invalid("chaîne de certificats vide"))
    }

    /// A SignerInfo over content of type `content_type` whose SHA-256 is `digest`.
    pub fn sign(
        &self,
        content_type: ObjectIdentifier,
        digest: &[u8; 32],
    ) -> Result<SignerInfo, CmsError> {
        let cert = self.cert()?;
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(Sha256::digest(cert.to_der()?).to_vec())?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(
                        cert.tbs_certificate.issuer.clone(),
                    )],
                    serial_number: cert.tbs_certificate.serial_number.clone(),
                }),
            }],
        };
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(ID_CONTENT_TYPE, Any::encode_from(&content_type)?)?,
            attribute(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(digest.to_vec())?)?,
            )?,
            attribute(ID_AA_SIGNING_CERTIFICATE_V_2, Any::encode_from(&ess)?)?,
        ])?;
        // RFC 5652 § 5.4: the signature covers the DER of the attributes as a SET OF.
        let signature: DerSignature = self.key.sign(&signed_attrs.to_der()?);
        Ok(SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: cert.tbs_certificate.issuer.clone(),
                serial_number: cert.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256_algorithm(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA_256,
                parameters: None,
            },
            signature: OctetString::new(signature.as_bytes())?,
            unsigned_attrs: None,
        })
    }
}

/// Adds the RFC 3161 token over the signature value as the signature-time-stamp attribute.
pub fn add_timestamp(signer_info: &mut SignerInfo, token_der: &[u8]) -> Result<(), CmsError> {
    let attr = attribute(ID_AA_TIME_STAMP_TOKEN, Any::from_der(token_der)?)?;
    signer_info.unsigned_attrs = Some(SetOfVec::try_from(vec![attr])?);
    Ok(())
}

/// The DER ContentInfo of a SignedData: detached when `econtent` is None.
pub fn signed_data(
    econtent_type: ObjectIdentifier,
    econtent: Option<&[u8]>,
    signer_info: SignerInfo,
    certificates: &[Certificate],
) -> Result<Vec<u8>, CmsError> {
    let certs = certificates
        .iter()
        .cloned()
        .map(CertificateChoices::Certificate)
        .collect::<Vec<_>>();
    let signed = SignedData {
        // RFC 5652 § 5.1: version 3 as soon as the content is not id-data (TSTInfo).
        version: if econtent_type == ID_DATA {
            CmsVersion::V1
        } else {
            CmsVersion::V3
        },
        digest_algorithms: SetOfVec::try_from(vec![sha256_algorithm()])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type,
            econtent: econtent
                .map(|c| Any::encode_from(&OctetString::new(c.to_vec())?))
                .transpose()?,
        },
        certificates: Some(CertificateSet(SetOfVec::try_from(certs)?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    Ok(ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed)?,
    }
    .to_der()?)
}

/// A SignedData read back, with the pieces the checks need.
pub struct ParsedSignedData {
    pub signed: SignedData,
    pub certificates: Vec<Certificate>,
}

/// Reads a ContentInfo holding a SignedData. Trailing bytes are ignored: a PDF /Contents is
/// zero-padded after the DER.
pub fn parse(der: &[u8]) -> Result<ParsedSignedData, CmsError> {
    let mut reader = der::SliceReader::new(der)?;
    let info: ContentInfo = der::Decode::decode(&mut reader).map_err(|e| {
        invalid(format!(
            "la signature n'est pas une structure CMS lisible ({e})"
        ))
    })?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(invalid("la structure CMS n'est pas un SignedData"));
    }
    let signed: SignedData = info.content.decode_as()?;
    let certificates = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(cert) => Some(cert.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    Ok(ParsedSignedData {
        signed,
        certificates,
    })
}

impl ParsedSignedData {
    pub fn signer_info(&self) -> Result<&SignerInfo, CmsError> {
        let mut infos = self.signed.signer_infos.0.iter();
        match (infos.next(), infos.next()) {
            (Some(info), None) => Ok(info),
            _ => Err(invalid(
                "la structure CMS doit contenir exactement un signataire",
            )),
        }
    }

    /// The certificate named by the SignerInfo's sid, among those carried in the SignedData.
    pub fn signer_cert(&self, info: &SignerInfo) -> Result<&Certificate, CmsError> {
        self.certificates
            .iter()
            .find(|c| match &info.sid {
                SignerIdentifier::IssuerAndSerialNumber(ias) => {
                    c.tbs_certificate.issuer == ias.issuer
                        && c.tbs_certificate.serial_number == ias.serial_number
                }
                SignerIdentifier::SubjectKeyIdentifier(ski) => {
                    subject_key_id(c).is_some_and(|k| k == ski.0.as_bytes())
                }
            })
            .ok_or_else(|| invalid("le certificat du signataire n'est pas joint à la signature"))
    }

    /// The encapsulated content (TSTInfo of a timestamp token).
    pub fn econtent(&self) -> Result<Vec<u8>, CmsError> {
        let any = self
            .signed
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or_else(|| invalid("contenu encapsulé absent"))?;
        Ok(any.decode_as::<OctetString>()?.into_bytes())
    }
}

fn subject_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    let ext = cert
        .tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)?;
    Some(
        OctetString::from_der(ext.extn_value.as_bytes())
            .ok()?
            .into_bytes(),
    )
}

/// Checks a SignerInfo against the digest of the content it claims to sign and against its
/// certificate: content-type and message-digest attributes, ESS signing-certificate-v2 (when
/// present), and the ECDSA P-256 signature over the signed attributes.
pub fn verify_signer_info(
    info: &SignerInfo,
    cert: &Certificate,
    content_type: ObjectIdentifier,
    content_digest: &[u8; 32],
) -> Result<(), CmsError> {
    if info.digest_alg.oid != ID_SHA_256 {
        return Err(invalid(format!(
            "algorithme d'empreinte {} non pris en charge (SHA-256 attendu)",
            info.digest_alg.oid
        )));
    }
    let attrs = info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| invalid("attributs signés absents"))?;
    let value = |oid: ObjectIdentifier| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.get(0))
    };
    let ct: ObjectIdentifier = value(ID_CONTENT_TYPE)
        .ok_or_else(|| invalid("attribut content-type absent"))?
        .decode_as()?;
    if ct != content_type {
        return Err(invalid("attribut content-type inattendu"));
    }
    let md: OctetString = value(ID_MESSAGE_DIGEST)
        .ok_or_else(|| invalid("attribut message-digest absent"))?
        .decode_as()?;
    if md.as_bytes() != content_digest {
        return Err(invalid("l'empreinte signée ne correspond pas au contenu : le document a été modifié après signature"));
    }
    if let Some(ess) = value(ID_AA_SIGNING_CERTIFICATE_V_2) {
        let ess: SigningCertificateV2 = ess.decode_as()?;
        let hash = Sha256::digest(cert.to_der()?);
        let first = ess
            .certs
            .first()
            .ok_or_else(|| invalid("attribut signing-certificate-v2 vide"))?;
        if first
            .hash_algorithm
            .as_ref()
            .is_some_and(|a| a.oid != ID_SHA_256)
            || first.cert_hash.as_bytes() != &hash[..]
        {
            return Err(invalid(
                "l'attribut signing-certificate-v2 ne désigne pas le certificat du signataire",
            ));
        }
    }
    verify_signature(
        cert,
        &info.signature_algorithm,
        &attrs.to_der()?,
        info.signature.as_bytes(),
    )
}

/// True when the SignerInfo carries a signing-certificate-v2 attribute (PAdES baseline asks it).
pub fn has_signing_certificate_v2(info: &SignerInfo) -> bool {
    info.signed_attrs
        .iter()
        .flat_map(|a| a.iter())
        .any(|a| a.oid == ID_AA_SIGNING_CERTIFICATE_V_2)
}

/// The signature-time-stamp token of a SignerInfo, if any.
pub fn timestamp_token(info: &SignerInfo) -> Result<Option<Vec<u8>>, CmsError> {
    let attr = info
        .unsigned_attrs
        .iter()
        .flat_map(|a| a.iter())
        .find(|a| a.oid == ID_AA_TIME_STAMP_TOKEN);
    attr.and_then(|a| a.values.get(0))
        .map(|v| v.to_der().map_err(CmsError::from))
        .transpose()
}

/// Checks a signature made with the key of `cert`: ECDSA P-256 with SHA-256 (what parafe
/// issues), or RSA PKCS#1 v1.5 with SHA-256/384/512 (what most remote TSAs and CAs use).
pub fn verify_signature(
    cert: &Certificate,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CmsError> {
    use const_oid::db::rfc5912::{
        RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
        SHA_512_WITH_RSA_ENCRYPTION,
    };
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let bad = || invalid("signature cryptographiquement invalide");
    match algorithm.oid {
        oid if oid == ECDSA_WITH_SHA_256 => {
            let key = super::pki::p256_key(cert)
                .ok_or_else(|| invalid("clé publique du certificat non prise en charge (ECDSA P-256 attendu)"))?;
            let signature = p256::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
            key.verify(message, &signature).map_err(|_| bad())
        }
        oid if [RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION]
            .contains(&oid) =>
        {
            use rsa::pkcs8::DecodePublicKey;
            use rsa::signature::Verifier as _;
            let key = rsa::RsaPublicKey::from_public_key_der(&spki.to_der()?)
                .map_err(|_| invalid("clé publique RSA du certificat illisible"))?;
            let signature = rsa::pkcs1v15::Signature::try_from(signature).map_err(|_| bad())?;
            // rsaEncryption alone (CMS SignerInfo) means the digest algorithm of the SignerInfo,
            // which parafe requires to be SHA-256.
            match oid {
                o if o == SHA_384_WITH_RSA_ENCRYPTION => {
                    rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(key).verify(message, &signature)
                }
                o if o == SHA_512_WITH_RSA_ENCRYPTION => {
                    rsa::pkcs1v15::VerifyingKey::<sha2::Sha512>::new(key).verify(message, &signature)
                }
                _ => rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key).verify(message, &signature),
            }
            .map_err(|_| bad())
        }
        oid => Err(invalid(format!(
            "algorithme de signature {oid} non pris en charge (ECDSA P-256 ou RSA avec SHA-2 attendus)"
        ))),
    }
}
