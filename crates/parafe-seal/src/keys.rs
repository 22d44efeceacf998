//! The seal key and its certificates: created for development by `parafe init` under
//! `<data-dir>/cles/`, or read from the PKCS#12 file named in `[seal]` for production.

use super::pki::{self, Role};
use super::revocation::{Revocation, Sources};
use super::SealConfig;
use der::{Decode, DecodePem, EncodePem};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use x509_cert::Certificate;

const CA_SUBJECT: &str = "CN=parafe AC de developpement (non qualifiee),O=parafe,C=FR";
const SEAL_SUBJECT: &str = "CN=Cachet du PLIE (developpement),O=PLIE de developpement,C=FR";
const TSA_SUBJECT: &str = "CN=Horodatage local parafe (non qualifie),O=parafe,C=FR";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("clés de scellement absentes ({0}) : lancez `parafe init` ou configurez [seal] pkcs12 dans parafe.toml")]
    Missing(PathBuf),
    #[error("{path} illisible : {message}")]
    Read { path: PathBuf, message: String },
    #[error("écriture de {path} impossible : {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("la variable d'environnement {0} (mot de passe du fichier PKCS#12) n'est pas définie")]
    NoPassword(String),
    #[error("fichier PKCS#12 {path} : {message}")]
    Pkcs12 { path: PathBuf, message: String },
    #[error("les clés de {0} sont incohérentes : la clé privée ne correspond pas au certificat")]
    Mismatch(PathBuf),
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
}

/// The key that seals documents, with its certificate chain (signer first) and the revocation
/// information that goes into the DSS.
pub struct SealKey {
    pub(super) key: SigningKey,
    pub chain: Vec<Certificate>,
}

/// The key of the built-in local TSA and its certificate chain (TSA first).
pub struct LocalTsaKey {
    pub(super) key: SigningKey,
    pub chain: Vec<Certificate>,
}

/// Everything sealing needs from the data directory.
pub struct Keys {
    pub seal: SealKey,
    /// Present in the zero-setup default only.
    pub local_tsa: Option<LocalTsaKey>,
    /// Certificates a verification trusts: the development CA, plus `[seal] confiance`.
    pub trust: Vec<Certificate>,
    /// DER CRLs for the DSS: the development CA's when there is one.
    pub crls: Vec<Vec<u8>>,
    /// The CRLs that production certificates declare, fetched when sealing.
    pub revocation: Revocation,
}

/// Paths of the development PKI under `<data-dir>/cles/`.
pub struct DevFiles {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub ca_crl: PathBuf,
    pub seal_cert: PathBuf,
    pub seal_key: PathBuf,
    pub tsa_cert: PathBuf,
    pub tsa_key: PathBuf,
}

impl DevFiles {
    pub fn new(data_dir: &Path) -> Self {
        let dir = data_dir.join("cles");
        Self {
            ca_cert: dir.join("ac-dev.pem"),
            ca_key: dir.join("ac-dev.cle.pem"),
            ca_crl: dir.join("ac-dev.crl"),
            seal_cert: dir.join("cachet.pem"),
            seal_key: dir.join("cachet.cle.pem"),
            tsa_cert: dir.join("horodatage.pem"),
            tsa_key: dir.join("horodatage.cle.pem"),
            dir,
        }
    }
}

/// What `parafe init` did.
pub struct InitReport {
    pub files: DevFiles,
    /// Files created by this run (empty: everything was already there).
    pub created: Vec<PathBuf>,
    /// Certificates issued anew for their existing key.
    pub renewed: Vec<PathBuf>,
}

/// Creates whatever is missing of the development PKI. Existing keys are never replaced, so
/// running it twice changes nothing.
pub fn init(data_dir: &Path) -> Result<InitReport, KeyError> {
    let files = DevFiles::new(data_dir);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&files.dir)
        .map_err(|source| KeyError::Write {
            path: files.dir.clone(),
            source,
        })?;
    let mut created = Vec::new();

    let (ca_key, ca) = if files.ca_key.exists() {
        (read_key(&files.ca_key)?, read_cert(&files.ca_cert)?)
    } else {
        if files.seal_key.exists() || files.tsa_key.exists() {
            return Err(KeyError::Read {
                path: files.ca_key.clone(),
                message: "clé de l'AC absente alors que des certificats en dépendent ; déplacez le dossier cles/ et relancez `parafe init`".into(),
            });
        }
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let ca = pki::issue_ca(&key, CA_SUBJECT)?;
        write_pem(
            &files.ca_key,
            key.to_pkcs8_pem(LineEnding::LF),
            &mut created,
        )?;
        write_pem(&files.ca_cert, ca.to_pem(LineEnding::LF), &mut created)?;
        (key, ca)
    };
    let mut renewed = Vec::new();
    for (cert_path, key_path, subject, role) in [
        (&files.seal_cert, &files.seal_key, SEAL_SUBJECT, Role::Seal),
        (&files.tsa_cert, &files.tsa_key, TSA_SUBJECT, Role::Tsa),
    ] {
        if !key_path.exists() {
            let key = SigningKey::random(&mut rand::rngs::OsRng);
            let cert = pki::issue_leaf(&ca_key, &ca, &key, subject, role)?;
            write_pem(key_path, key.to_pkcs8_pem(LineEnding::LF), &mut created)?;
            write_pem(cert_path, cert.to_pem(LineEnding::LF), &mut created)?;
        } else if !Sources::of(&read_cert(cert_path)?).is_empty() {
            // Issued by an earlier parafe with a distribution point nobody serves, which makes
            // online revocation checks fail: the same key, certified without it.
            let cert = pki::issue_leaf(&ca_key, &ca, &read_key(key_path)?, subject, role)?;
            write_pem(cert_path, cert.to_pem(LineEnding::LF), &mut renewed)?;
        }
    }
    if !files.ca_crl.exists() {
        write_private(&files.ca_crl, &pki::issue_crl(&ca_key, &ca)?)?;
        created.push(files.ca_crl.clone());
    }
    Ok(InitReport {
        files,
        created,
        renewed,
    })
}

impl Keys {
    /// The seal key of the configuration: the PKCS#12 file of `[seal]` if one is named, the
    /// development keys of `parafe init` otherwise.
    pub fn load(data_dir: &Path, config: &SealConfig) -> Result<Keys, KeyError> {
        let files = DevFiles::new(data_dir);
        let dev = files.ca_cert.exists();
        let trust = Self::trust_anchors(data_dir, config)?;
        let seal = match &config.pkcs12 {
            Some(path) => read_pkcs12(&resolve(data_dir, path), &config.pkcs12_mot_de_passe_env)?,
            None => dev_seal_key(&files)?,
        };
        let local_tsa = if dev && files.tsa_key.exists() {
            let key = read_key(&files.tsa_key)?;
            let chain = vec![read_cert(&files.tsa_cert)?, read_cert(&files.ca_cert)?];
            if !pki::key_matches(&key, &chain[0]) {
                return Err(KeyError::Mismatch(files.tsa_key));
            }
            Some(LocalTsaKey { key, chain })
        } else {
            None
        };
        let crls = if dev {
            vec![current_crl(&files)?]
        } else {
            Vec::new()
        };
        Ok(Keys {
            seal,
            local_tsa,
            trust,
            crls,
            revocation: Revocation::default(),
        })
    }

    /// Only the trust anchors, for verification on a machine that may hold no key at all.
    pub fn trust_anchors(
        data_dir: &Path,
        config: &SealConfig,
    ) -> Result<Vec<Certificate>, KeyError> {
        let mut trust = Vec::new();
        for path in &config.confiance {
            trust.extend(read_certs(&resolve(data_dir, path))?);
        }
        let ca = DevFiles::new(data_dir).ca_cert;
        if ca.exists() {
            trust.push(read_cert(&ca)?);
        }
        Ok(trust)
    }
}

fn resolve(data_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        data_dir.join(path)
    }
}

fn dev_seal_key(files: &DevFiles) -> Result<SealKey, KeyError> {
    if !files.seal_key.exists() {
        return Err(KeyError::Missing(files.seal_key.clone()));
    }
    let key = read_key(&files.seal_key)?;
    let cert = read_cert(&files.seal_cert)?;
    if !pki::key_matches(&key, &cert) {
        return Err(KeyError::Mismatch(files.seal_key.clone()));
    }
    Ok(SealKey {
        key,
        chain: vec![cert, read_cert(&files.ca_cert)?],
    })
}

/// The development CA's CRL, issued anew when it is about to expire.
fn current_crl(files: &DevFiles) -> Result<Vec<u8>, KeyError> {
    let ca = read_cert(&files.ca_cert)?;
    let crl = std::fs::read(&files.ca_crl).ok();
    // A stale CRL would make long-term validation fail: the CA key is at hand, issue a fresh one.
    let current = crl
        .as_deref()
        .and_then(pki::crl_next_update)
        .is_some_and(|next| {
            next > std::time::SystemTime::now() + std::time::Duration::from_secs(24 * 3600)
        });
    let crl = match (crl, current) {
        (Some(crl), true) => crl,
        _ => {
            let crl = pki::issue_crl(&read_key(&files.ca_key)?, &ca)?;
            write_private(&files.ca_crl, &crl)?;
            crl
        }
    };
    Ok(crl)
}

fn read_pkcs12(path: &Path, password_env: &str) -> Result<SealKey, KeyError> {
    let password =
        std::env::var(password_env).map_err(|_| KeyError::NoPassword(password_env.to_owned()))?;
    let data = std::fs::read(path).map_err(|e| KeyError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let p12_error = |message: String| KeyError::Pkcs12 {
        path: path.to_owned(),
        message,
    };
    let store = p12_keystore::KeyStore::from_pkcs12(&data, &password)
        .map_err(|e| p12_error(format!("illisible ou mot de passe incorrect ({e})")))?;
    let (_, entry) = store
        .private_key_chain()
        .ok_or_else(|| p12_error("aucune clé privée".into()))?;
    let key = SigningKey::from_pkcs8_der(entry.key()).map_err(|_| {
        p12_error("la clé n'est pas une clé ECDSA P-256 (seul algorithme pris en charge)".into())
    })?;
    let chain = entry
        .chain()
        .iter()
        .map(|c| Certificate::from_der(c.as_der()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| p12_error(format!("certificat illisible ({e})")))?;
    match chain.first() {
        Some(cert) if pki::key_matches(&key, cert) => Ok(SealKey { key, chain }),
        _ => Err(KeyError::Mismatch(path.to_owned())),
    }
}

/// Reads and decodes one PEM file; any failure names the file.
fn read_pem<T, E: std::fmt::Display>(
    path: &Path,
    decode: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, KeyError> {
    let read_error = |message: String| KeyError::Read {
        path: path.to_owned(),
        message,
    };
    let pem = std::fs::read_to_string(path).map_err(|e| read_error(e.to_string()))?;
    decode(&pem).map_err(|e| read_error(e.to_string()))
}

fn read_key(path: &Path) -> Result<SigningKey, KeyError> {
    read_pem(path, SigningKey::from_pkcs8_pem)
}

pub(super) fn read_cert(path: &Path) -> Result<Certificate, KeyError> {
    read_pem(path, |pem| Certificate::from_pem(pem.as_bytes()))
}

/// Every certificate of a PEM file (a CA bundle).
pub fn read_certs(path: &Path) -> Result<Vec<Certificate>, KeyError> {
    let pem = std::fs::read(path).map_err(|e| KeyError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let certs = Certificate::load_pem_chain(&pem).map_err(|e| KeyError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if certs.is_empty() {
        return Err(KeyError::Read {
            path: path.to_owned(),
            message: "aucun certificat PEM".into(),
        });
    }
    Ok(certs)
}

/// Writes a key or a certificate as PEM, owner-only, and records it as created.
fn write_pem<P: AsRef<[u8]>, E: std::fmt::Display>(
    path: &Path,
    pem: Result<P, E>,
    created: &mut Vec<PathBuf>,
) -> Result<(), KeyError> {
    let pem = pem.map_err(|e| KeyError::Write {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    })?;
    write_private(path, pem.as_ref())?;
    created.push(path.to_owned());
    Ok(())
}

/// Writes a file readable by its owner only (keys, and the rest alongside them).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    parafe_core::files::write_private(path, bytes).map_err(|source| KeyError::Write {
        path: path.to_owned(),
        source,
    })
}
