//! Writes the ZIP on its own thread, entry by entry, as the pieces stream in from the store: the
//! channel between the two is bounded, so memory holds a few chunks, never the pack. Each entry
//! is hashed as it is written; a piece whose bytes are not those its key promises stops the pack.

use super::PackError;
use crate::model::Sha256Digest;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A chunk of an entry: the store's buffers are passed on as they are.
pub type Morceau = Box<dyn AsRef<[u8]> + Send>;

enum Ordre {
    Ouvrir {
        chemin: String,
        compresser: bool,
        grand: bool,
        attendu: Option<Sha256Digest>,
    },
    Ecrire(Morceau),
    Fermer,
    /// The entries written so far (for the manifests, written last).
    Releve(tokio::sync::oneshot::Sender<Vec<Ecrit>>),
}

/// An entry written: what the manifest lists.
#[derive(Debug, Clone)]
pub struct Ecrit {
    pub chemin: String,
    pub sha256: Sha256Digest,
    pub taille: u64,
}

/// The async side of the writer thread.
pub struct Ecrivain {
    ordres: mpsc::Sender<Ordre>,
    fil: std::thread::JoinHandle<Result<Vec<Ecrit>, PackError>>,
}

/// Chunks in flight between the store and the ZIP: with the store's 8 to 64 KB buffers, a few
/// MB at most.
const EN_VOL: usize = 64;

impl Ecrivain {
    /// Creates `sortie` (replacing nothing: the caller picked a free path) and starts the thread.
    pub fn ouvrir(sortie: &Path, quand: zip::DateTime) -> Result<Ecrivain, PackError> {
        let fichier = File::create(sortie).map_err(|e| PackError::Ecriture {
            chemin: sortie.to_path_buf(),
            source: e,
        })?;
        let (ordres, recus) = mpsc::channel(EN_VOL);
        let chemin = sortie.to_path_buf();
        let fil = std::thread::Builder::new()
            .name("pack-zip".into())
            .spawn(move || ecrire(fichier, chemin, recus, quand))
            .map_err(|e| PackError::Ecriture {
                chemin: sortie.to_path_buf(),
                source: e,
            })?;
        Ok(Ecrivain { ordres, fil })
    }

    async fn envoyer(&self, ordre: Ordre) -> Result<(), ()> {
        self.ordres.send(ordre).await.map_err(|_| ())
    }

    /// Starts an entry. `attendu`: the hash its bytes must have (pieces from the store).
    pub async fn ouvrir_entree(
        &self,
        chemin: &str,
        compresser: bool,
        taille: Option<u64>,
        attendu: Option<Sha256Digest>,
    ) -> Result<(), ()> {
        let grand = taille.is_none_or(|t| t >= u64::from(u32::MAX));
        self.envoyer(Ordre::Ouvrir {
            chemin: chemin.to_owned(),
            compresser,
            grand,
            attendu,
        })
        .await
    }

    pub async fn ecrire(&self, morceau: Morceau) -> Result<(), ()> {
        self.envoyer(Ordre::Ecrire(morceau)).await
    }

    pub async fn fermer_entree(&self) -> Result<(), ()> {
        self.envoyer(Ordre::Fermer).await
    }

    pub async fn releve(
        &self,
        reponse: tokio::sync::oneshot::Sender<Vec<Ecrit>>,
    ) -> Result<(), ()> {
        self.envoyer(Ordre::Releve(reponse)).await
    }

    /// A whole small entry (README, manifests, certificates, index).
    pub async fn fichier(&self, chemin: &str, compresser: bool, octets: Vec<u8>) -> Result<(), ()> {
        self.ouvrir_entree(chemin, compresser, Some(octets.len() as u64), None)
            .await?;
        self.ecrire(Box::new(octets)).await?;
        self.fermer_entree().await
    }

    /// Starts an entry written in pieces (manifests): what it is given is sent in chunks of
    /// [`LOT`] and hashed on the way.
    pub async fn en_flux(&self, chemin: &str, compresser: bool) -> Result<EnFlux<'_>, ()> {
        self.ouvrir_entree(chemin, compresser, None, None).await?;
        Ok(EnFlux {
            zip: self,
            lot: Vec::with_capacity(LOT),
            hasher: Sha256::new(),
        })
    }

    /// Closes the ZIP (central directory, fsync) and returns the entries written, or the error
    /// that stopped the thread.
    pub async fn terminer(self) -> Result<Vec<Ecrit>, PackError> {
        drop(self.ordres);
        let fil = self.fil;
        tokio::task::spawn_blocking(move || fil.join())
            .await
            .map_err(|e| PackError::Interne(e.to_string()))?
            .map_err(|_| PackError::Interne("le fil d'écriture du ZIP s'est arrêté".into()))?
    }
}

/// Chunk size of an entry written in pieces.
const LOT: usize = 256 * 1024;

/// An entry being written in pieces, see [`Ecrivain::en_flux`].
pub struct EnFlux<'z> {
    zip: &'z Ecrivain,
    lot: Vec<u8>,
    hasher: Sha256,
}

impl EnFlux<'_> {
    pub async fn ecrire(&mut self, octets: &[u8]) -> Result<(), ()> {
        self.hasher.update(octets);
        self.lot.extend_from_slice(octets);
        if self.lot.len() >= LOT {
            let plein = std::mem::replace(&mut self.lot, Vec::with_capacity(LOT));
            self.zip.ecrire(Box::new(plein)).await?;
        }
        Ok(())
    }

    /// Ends the entry; its SHA-256.
    pub async fn fermer(self) -> Result<Sha256Digest, ()> {
        if !self.lot.is_empty() {
            self.zip.ecrire(Box::new(self.lot)).await?;
        }
        self.zip.fermer_entree().await?;
        Ok(Sha256Digest(self.hasher.finalize().into()))
    }
}

fn ecrire(
    fichier: File,
    sortie: PathBuf,
    mut recus: mpsc::Receiver<Ordre>,
    quand: zip::DateTime,
) -> Result<Vec<Ecrit>, PackError> {
    let io = |source: std::io::Error| PackError::Ecriture {
        chemin: sortie.clone(),
        source,
    };
    let zip_err = |e: zip::result::ZipError| PackError::Ecriture {
        chemin: sortie.clone(),
        source: std::io::Error::other(e),
    };
    let mut zip = ZipWriter::new(BufWriter::with_capacity(1 << 20, fichier));
    let mut ecrits = Vec::new();
    let mut courant: Option<(String, Sha256, u64, Option<Sha256Digest>)> = None;
    while let Some(ordre) = recus.blocking_recv() {
        match ordre {
            Ordre::Ouvrir {
                chemin,
                compresser,
                grand,
                attendu,
            } => {
                // Sealed PDFs and photos are compressed already: storing them costs nothing.
                let methode = if compresser {
                    CompressionMethod::Deflated
                } else {
                    CompressionMethod::Stored
                };
                let options = SimpleFileOptions::default()
                    .compression_method(methode)
                    .last_modified_time(quand)
                    .unix_permissions(0o644)
                    .large_file(grand);
                zip.start_file(chemin.as_str(), options).map_err(zip_err)?;
                courant = Some((chemin, Sha256::new(), 0, attendu));
            }
            Ordre::Ecrire(morceau) => {
                let octets = (*morceau).as_ref();
                if let Some((_, hasher, taille, _)) = &mut courant {
                    hasher.update(octets);
                    *taille += octets.len() as u64;
                }
                zip.write_all(octets).map_err(io)?;
            }
            Ordre::Fermer => {
                let Some((chemin, hasher, taille, attendu)) = courant.take() else {
                    continue;
                };
                let sha256 = Sha256Digest(hasher.finalize().into());
                if let Some(attendu) = attendu.filter(|a| *a != sha256) {
                    return Err(PackError::Altere {
                        chemin,
                        attendu,
                        trouve: sha256,
                    });
                }
                ecrits.push(Ecrit {
                    chemin,
                    sha256,
                    taille,
                });
            }
            Ordre::Releve(reponse) => {
                let _ = reponse.send(ecrits.clone());
            }
        }
    }
    // No fsync: a pack is derived from the store and made again at will; what must survive a
    // crash (the journal entry of the export) is written once the file is complete.
    zip.finish().map_err(zip_err)?.flush().map_err(io)?;
    Ok(ecrits)
}
