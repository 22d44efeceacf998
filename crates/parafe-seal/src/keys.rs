//! The seal keys and their certificates, one per PLIE of the deployment: created for
//! development by `parafe init` under `<data-dir>/cles/` (the deployment's own PLIE) and
//! `<data-dir>/cles/plies/<id>/` (the others, when first needed), or read from the PKCS#12 files
//! named in `[seal]` and `[seal.plies.<id>]` for production.

use super::pki::{self, Role};
use super::revocation::{Revocation, Sources};
use super::SealConfig;
use der::{Decode, DecodePem, EncodePem};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
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
    #[error("le PLIE « {0} » n'a pas de cachet : indiquez son fichier PKCS#12 dans parafe.toml ([seal.plies.{0}] pkcs12 et pkcs12_mot_de_passe_env), puis redémarrez parafe")]
    SansCachet(String),
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
    /// Each PLIE's seal by PLIE identifier: the deployment's own PLIE's (`[seal] pkcs12` or
    /// `cles/cachet.pem`), those of `[seal.plies.<id>]`, and the development ones of `cles/plies/`.
    cachets: RwLock<BTreeMap<String, Arc<SealKey>>>,
    /// In development only: where the seals of further PLIEs are issued by the development CA.
    dev: Option<DevFiles>,
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
    /// One folder per further PLIE: `<id>/cachet.pem` and `<id>/cachet.cle.pem`.
    pub plies: PathBuf,
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
            plies: dir.join("plies"),
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
    /// The seal keys of the configuration: for the deployment's own PLIE `principal`, the
    /// PKCS#12 file of `[seal]` if one is named, the development keys of `parafe init` otherwise;
    /// for the others, the files of `[seal.plies.<id>]`, and in development those of `cles/plies/`.
    pub fn load(data_dir: &Path, config: &SealConfig, principal: &str) -> Result<Keys, KeyError> {
        let files = DevFiles::new(data_dir);
        let dev = files.ca_cert.exists();
        let trust = Self::trust_anchors(data_dir, config)?;
        let mut cachets = BTreeMap::new();
        let seal = match &config.pkcs12 {
            Some(path) => read_pkcs12(&resolve(data_dir, path), &config.pkcs12_mot_de_passe_env)?,
            None => dev_seal_key(&files.seal_key, &files.seal_cert, &files.ca_cert)?,
        };
        cachets.insert(principal.to_owned(), Arc::new(seal));
        if config.pkcs12.is_none() && dev {
            for (plie, dossier) in dev_plies(&files)? {
                let seal = dev_seal_key(
                    &dossier.join("cachet.cle.pem"),
                    &dossier.join("cachet.pem"),
                    &files.ca_cert,
                )?;
                cachets.entry(plie).or_insert(Arc::new(seal));
            }
        }
        for (plie, c) in &config.plies {
            let seal = read_pkcs12(&resolve(data_dir, &c.pkcs12), &c.pkcs12_mot_de_passe_env)?;
            cachets.insert(plie.clone(), Arc::new(seal));
        }
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
            cachets: RwLock::new(cachets),
            dev: (config.pkcs12.is_none() && files.ca_key.exists()).then_some(files),
            local_tsa,
            trust,
            crls,
            revocation: Revocation::default(),
        })
    }

    /// The seal of `plie`. In development, a PLIE without one gets it now, issued by the
    /// development CA in the name `nom`; in production its PKCS#12 file must be configured.
    pub fn cachet(&self, plie: &str, nom: &str) -> Result<Arc<SealKey>, KeyError> {
        if let Some(seal) = self.existant(plie) {
            return Ok(seal);
        }
        let Some(files) = &self.dev else {
            return Err(KeyError::SansCachet(plie.to_owned()));
        };
        let mut cachets = self.cachets.write().unwrap_or_else(|e| e.into_inner());
        if let Some(seal) = cachets.get(plie) {
            return Ok(seal.clone());
        }
        let seal = Arc::new(issue_dev_seal(files, plie, nom)?);
        cachets.insert(plie.to_owned(), seal.clone());
        Ok(seal)
    }

    /// The seal `plie` has now, without issuing any.
    pub fn existant(&self, plie: &str) -> Option<Arc<SealKey>> {
        let cachets = self.cachets.read().unwrap_or_else(|e| e.into_inner());
        cachets.get(plie).cloned()
    }

    /// Whether a PLIE's missing seal is issued when first asked for (development keys).
    pub fn developpement(&self) -> bool {
        self.dev.is_some()
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

fn dev_seal_key(key: &Path, cert: &Path, ca: &Path) -> Result<SealKey, KeyError> {
    if !key.exists() {
        return Err(KeyError::Missing(key.to_owned()));
    }
    let signing = read_key(key)?;
    let leaf = read_cert(cert)?;
    if !pki::key_matches(&signing, &leaf) {
        return Err(KeyError::Mismatch(key.to_owned()));
    }
    Ok(SealKey {
        key: signing,
        chain: vec![leaf, read_cert(ca)?],
    })
}

/// The development seals of further PLIEs: `cles/plies/<id>/`, by PLIE identifier (the
/// temporary folders of an issuance under way start with `.`).
fn dev_plies(files: &DevFiles) -> Result<Vec<(String, PathBuf)>, KeyError> {
    let entries = match std::fs::read_dir(&files.plies) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(KeyError::Read {
                path: files.plies.clone(),
                message: e.to_string(),
            })
        }
    };
    Ok(entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let nom = e.file_name().into_string().ok()?;
            (!nom.starts_with('.') && e.path().is_dir()).then(|| (nom, e.path()))
        })
        .collect())
}

/// Issues the development seal of `plie` under `cles/plies/<plie>/`. The key and its
/// certificate are written in a temporary folder renamed into place: another process issuing
/// the same seal at the same moment loses the rename and both use the folder that won.
fn issue_dev_seal(files: &DevFiles, plie: &str, nom: &str) -> Result<SealKey, KeyError> {
    let dossier = files.plies.join(plie);
    if !dossier.exists() {
        let ca_key = read_key(&files.ca_key)?;
        let ca = read_cert(&files.ca_cert)?;
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let cert = pki::issue_leaf(&ca_key, &ca, &key, &dev_subject(nom), Role::Seal)?;
        let tmp = files.plies.join(format!(".{plie}.{}", std::process::id()));
        let mut created = Vec::new();
        write_pem(
            &tmp.join("cachet.cle.pem"),
            key.to_pkcs8_pem(LineEnding::LF),
            &mut created,
        )?;
        write_pem(
            &tmp.join("cachet.pem"),
            cert.to_pem(LineEnding::LF),
            &mut created,
        )?;
        if std::fs::rename(&tmp, &dossier).is_err() {
            // Another process put its folder there first: it is the one kept.
            let _ = std::fs::remove_dir_all(&tmp);
        }
    }
    dev_seal_key(
        &dossier.join("cachet.cle.pem"),
        &dossier.join("cachet.pem"),
        &files.ca_cert,
    )
}

/// The subject of a further PLIE's development seal: its name (RFC 4514 escaped, within the
/// 64 characters X.520 allows) as common name and organisation.
fn dev_subject(nom: &str) -> String {
    let nom: String = nom.trim().chars().take(64).collect();
    let mut echappe = String::new();
    for (i, c) in nom.trim_end().chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') || (i == 0 && c == '#') {
            echappe.push('\\');
        }
        echappe.push(c);
    }
    format!("CN={echappe},OU=Cachet de developpement (non qualifie),O={echappe},C=FR")
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
