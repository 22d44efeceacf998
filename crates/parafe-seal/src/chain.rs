//! Certificate paths: from a signer's certificate up to a trusted one, each link's signature
//! checked and each certificate valid at the time that matters (the timestamp's).

use super::cms::verify_signature;
use der::Encode;
use std::time::SystemTime;
use x509_cert::Certificate;

/// Subject of a certificate, as a person reads it (`CN=…,O=…`).
pub fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate.subject.to_string()
}

/// The common name of `name` (the readable holder of a certificate), else the whole name.
pub fn common_name(name: &x509_cert::name::Name) -> String {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == const_oid::db::rfc4519::CN)
        .and_then(|atv| {
            der::asn1::Utf8StringRef::try_from(&atv.value)
                .map(|s| s.as_str().to_owned())
                .or_else(|_| {
                    der::asn1::PrintableStringRef::try_from(&atv.value)
                        .map(|s| s.as_str().to_owned())
                })
                .ok()
        })
        .unwrap_or_else(|| name.to_string())
}

/// Builds and checks the path from `leaf` to one of `trust`, using `pool` for intermediates.
/// Returns the path, leaf first, trust anchor last.
pub fn verify_path(
    leaf: &Certificate,
    pool: &[Certificate],
    trust: &[Certificate],
    at: SystemTime,
) -> Result<Vec<Certificate>, String> {
    let mut path = vec![leaf.clone()];
    loop {
        let current = path.last().cloned().ok_or("chemin vide")?;
        check_validity(&current, at)?;
        if is_trusted(&current, trust) {
            return Ok(path);
        }
        if path.len() > 8 {
            return Err("chaîne de certificats trop longue".into());
        }
        let issuer = trust
            .iter()
            .chain(pool)
            .find(|c| c.tbs_certificate.subject == current.tbs_certificate.issuer && c != &&current)
            .ok_or_else(|| {
                format!(
                    "certificat « {} » non reconnu : son émetteur « {} » n'est pas parmi les autorités de confiance",
                    subject(&current),
                    current.tbs_certificate.issuer
                )
            })?;
        let tbs = current
            .tbs_certificate
            .to_der()
            .map_err(|e| e.to_string())?;
        verify_signature(
            issuer,
            &current.signature_algorithm,
            &tbs,
            current.signature.raw_bytes(),
        )
        .map_err(|e| format!("certificat « {} » : {e}", subject(&current)))?;
        path.push(issuer.clone());
    }
}

fn is_trusted(cert: &Certificate, trust: &[Certificate]) -> bool {
    trust.iter().any(|t| t == cert)
}

fn check_validity(cert: &Certificate, at: SystemTime) -> Result<(), String> {
    let validity = &cert.tbs_certificate.validity;
    if at < validity.not_before.to_system_time() || at > validity.not_after.to_system_time() {
        return Err(format!(
            "certificat « {} » hors de sa période de validité ({} – {}) à la date de l'horodatage",
            subject(cert),
            validity.not_before,
            validity.not_after
        ));
    }
    Ok(())
}

/// True when the certificate's extended key usage contains timeStamping, critical (RFC 3161 § 2.3).
pub fn is_tsa_certificate(cert: &Certificate) -> bool {
    use der::Decode;
    use x509_cert::ext::pkix::ExtendedKeyUsage;
    cert.tbs_certificate.extensions.iter().flatten().any(|e| {
        e.extn_id == const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE
            && e.critical
            && ExtendedKeyUsage::from_der(e.extn_value.as_bytes())
                .is_ok_and(|eku| eku.0.contains(&const_oid::db::rfc5280::ID_KP_TIME_STAMPING))
    })
}
