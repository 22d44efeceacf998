//! Writes the ZIP on its own thread, entry by entry, as the pieces stream in from the store: the
//! channel between the two is bounded, so memory holds a few chunks, never the pack. Each entry
//! is hashed as it is written; a piece whose bytes are not those its key promises stops the pack.

use super::PackError;
use parafe_core::model::Sha256Digest;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A chunk of an entry: the store's buffers are passed on as they are.
pub type Morceau = Box<dyn AsRef<[u8]> + Send>;

/// How an entry starts.
struct Ouverture {
    chemin: String,
    compresser: bool,
    /// Past 4 GB (or of unknown size): ZIP64 headers.
    grand: bool,
    hachage: Hachage,
}

/// What the writer does about an entry's SHA-256 (the manifest lists it).
#[derive(Clone, Copy)]
enum Hachage {
    /// Taken as written (parafe's own files).
    Calcule,
    /// Taken as written, and must be this one (a large piece streamed from the store).
    Attendu(Sha256Digest),
    /// Taken and checked against the piece's key by the task that read it: this thread, which
    /// every byte of the pack goes through, has the ZIP's own hash to take.
    Verifie(Sha256Digest),
}

enum Ordre {
    Ouvrir(Ouverture),
    Ecrire(Morceau),
    Fermer,
    /// A whole entry in one message: one wake-up of the writer per piece, not one per chunk.
    Fichier(Ouverture, Vec<Morceau>),
    /// The entries written so far, handed over (for the manifests, written last).
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
    fil: std::thread::JoinHandle<Result<Ferme, PackError>>,
}

/// The ZIP once closed: how many entries, and its own SHA-256 when it could be taken as it was
/// written (see [`Empreinte`]).
pub struct Ferme {
    pub fichiers: usize,
    pub sha256: Option<Sha256Digest>,
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
        self.envoyer(Ordre::Ouvrir(Ouverture {
            chemin: chemin.to_owned(),
            compresser,
            grand: taille.is_none_or(|t| t >= u64::from(u32::MAX)),
            hachage: attendu.map_or(Hachage::Calcule, Hachage::Attendu),
        }))
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

    /// A whole entry of parafe's own (README, certificates, indexes).
    pub async fn fichier(&self, chemin: &str, compresser: bool, octets: Vec<u8>) -> Result<(), ()> {
        self.piece(chemin, compresser, vec![Box::new(octets)], None)
            .await
    }

    /// A whole piece read from the store, in the store's own buffers, whose bytes the reader
    /// hashed to `verifie`, its key.
    pub async fn piece(
        &self,
        chemin: &str,
        compresser: bool,
        morceaux: Vec<Morceau>,
        verifie: Option<Sha256Digest>,
    ) -> Result<(), ()> {
        let taille: usize = morceaux.iter().map(|m| (**m).as_ref().len()).sum();
        let ouverture = Ouverture {
            chemin: chemin.to_owned(),
            compresser,
            grand: taille as u64 >= u64::from(u32::MAX),
            hachage: verifie.map_or(Hachage::Calcule, Hachage::Verifie),
        };
        self.envoyer(Ordre::Fichier(ouverture, morceaux)).await
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

    /// Closes the ZIP (central directory) and returns the entries written, or the error that
    /// stopped the thread.
    pub async fn terminer(self) -> Result<Ferme, PackError> {
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

/// An entry held back past this (a large piece streamed from the store) stops the hash taken
/// while writing: the ZIP is then hashed once written, and memory stays bounded.
const RETENUE_MAX: usize = 64 << 20;

/// The ZIP's SHA-256, taken as it is written instead of reading 2.6 GB again once closed. The
/// ZIP writer goes back to each local header to write the CRC and sizes once the entry's data
/// is written: the bytes of the current entry are held until it returns to the end, then hashed.
/// Anything else (a write into bytes already hashed, an entry larger than [`RETENUE_MAX`]) gives
/// up, and the caller hashes the file.
struct Empreinte<W> {
    inner: W,
    hasher: Sha256,
    /// Bytes hashed: a prefix of the file.
    hache: u64,
    /// The bytes after it, not final yet.
    retenus: Vec<u8>,
    pos: u64,
    fin: u64,
    valide: bool,
}

impl<W> Empreinte<W> {
    fn new(inner: W) -> Empreinte<W> {
        Empreinte {
            inner,
            hasher: Sha256::new(),
            hache: 0,
            retenus: Vec::new(),
            pos: 0,
            fin: 0,
            valide: true,
        }
    }

    fn renoncer(&mut self) {
        self.valide = false;
        self.retenus = Vec::new();
    }

    fn noter(&mut self, octets: &[u8]) {
        if self.valide && self.pos < self.hache {
            self.renoncer();
        }
        if self.valide {
            let debut = (self.pos - self.hache) as usize;
            let fin = debut + octets.len();
            if debut == self.retenus.len() {
                self.retenus.extend_from_slice(octets);
            } else {
                if fin > self.retenus.len() {
                    self.retenus.resize(fin, 0);
                }
                self.retenus[debut..fin].copy_from_slice(octets);
            }
            if self.retenus.len() > RETENUE_MAX {
                self.renoncer();
            }
        }
        self.pos += octets.len() as u64;
        self.fin = self.fin.max(self.pos);
    }

    /// Everything written so far is final: hashed, and let go.
    fn valider(&mut self) {
        if self.valide {
            self.hasher.update(&self.retenus);
            self.hache += self.retenus.len() as u64;
            self.retenus.clear();
            // A large entry held back does not keep its memory until the end.
            self.retenus.shrink_to(1 << 20);
        }
    }

    fn empreinte(mut self) -> (W, Option<Sha256Digest>) {
        self.valider();
        let sha = self
            .valide
            .then(|| Sha256Digest(self.hasher.finalize().into()));
        (self.inner, sha)
    }
}

impl<W: Write> Write for Empreinte<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.noter(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Seek> Seek for Empreinte<W> {
    fn seek(&mut self, ou: SeekFrom) -> std::io::Result<u64> {
        let avant = self.pos;
        self.pos = self.inner.seek(ou)?;
        // Back at the end after writing a header: the entry is complete.
        if avant < self.fin && self.pos == self.fin {
            self.valider();
        }
        Ok(self.pos)
    }
}

/// The ZIP as the writer thread holds it: the entry being written, the entries written.
struct Zip<'s> {
    zip: ZipWriter<Empreinte<BufWriter<File>>>,
    sortie: &'s Path,
    quand: zip::DateTime,
    ecrits: Vec<Ecrit>,
    /// Entries written, those handed over by a relevé included.
    fichiers: usize,
    courant: Option<(String, Sha256, u64, Hachage)>,
}

impl Zip<'_> {
    fn erreur(&self, source: std::io::Error) -> PackError {
        PackError::Ecriture {
            chemin: self.sortie.to_path_buf(),
            source,
        }
    }

    fn ouvrir(&mut self, o: Ouverture) -> Result<(), PackError> {
        // Sealed PDFs and photos are compressed already: storing them costs nothing. What is
        // deflated (manifests, journal excerpt, README, certificates, e-mails) is text, mostly
        // hex and JSON: the fastest level keeps most of the gain at a fraction of the time.
        let (methode, niveau) = if o.compresser {
            (CompressionMethod::Deflated, Some(1))
        } else {
            (CompressionMethod::Stored, None)
        };
        let options = SimpleFileOptions::default()
            .compression_method(methode)
            .compression_level(niveau)
            .last_modified_time(self.quand)
            .unix_permissions(0o644)
            .large_file(o.grand);
        self.zip
            .start_file(o.chemin.as_str(), options)
            .map_err(|e| self.erreur(std::io::Error::other(e)))?;
        self.courant = Some((o.chemin, Sha256::new(), 0, o.hachage));
        Ok(())
    }

    fn ecrire(&mut self, octets: &[u8]) -> Result<(), PackError> {
        if let Some((_, hasher, taille, hachage)) = &mut self.courant {
            if !matches!(hachage, Hachage::Verifie(_)) {
                hasher.update(octets);
            }
            *taille += octets.len() as u64;
        }
        self.zip.write_all(octets).map_err(|e| self.erreur(e))
    }

    fn fermer(&mut self) -> Result<(), PackError> {
        let Some((chemin, hasher, taille, hachage)) = self.courant.take() else {
            return Ok(());
        };
        let sha256 = match hachage {
            Hachage::Verifie(sha256) => sha256,
            Hachage::Calcule => Sha256Digest(hasher.finalize().into()),
            Hachage::Attendu(attendu) => super::verifier_empreinte(&chemin, attendu, hasher)?,
        };
        self.fichiers += 1;
        self.ecrits.push(Ecrit {
            chemin,
            sha256,
            taille,
        });
        Ok(())
    }
}

fn ecrire(
    fichier: File,
    sortie: PathBuf,
    mut recus: mpsc::Receiver<Ordre>,
    quand: zip::DateTime,
) -> Result<Ferme, PackError> {
    let mut z = Zip {
        zip: ZipWriter::new(Empreinte::new(BufWriter::with_capacity(1 << 20, fichier))),
        sortie: &sortie,
        quand,
        ecrits: Vec::new(),
        fichiers: 0,
        courant: None,
    };
    while let Some(ordre) = recus.blocking_recv() {
        match ordre {
            Ordre::Ouvrir(o) => z.ouvrir(o)?,
            Ordre::Ecrire(morceau) => z.ecrire((*morceau).as_ref())?,
            Ordre::Fermer => z.fermer()?,
            Ordre::Fichier(o, morceaux) => {
                z.ouvrir(o)?;
                for m in morceaux {
                    z.ecrire((*m).as_ref())?;
                }
                z.fermer()?;
            }
            Ordre::Releve(reponse) => {
                let _ = reponse.send(std::mem::take(&mut z.ecrits));
            }
        }
    }
    // No fsync: a pack is derived from the store and made again at will; what must survive a
    // crash (the journal entry of the export) is written once the file is complete.
    let erreur = |source| PackError::Ecriture {
        chemin: sortie.clone(),
        source,
    };
    let (mut fichier, sha256) = z
        .zip
        .finish()
        .map_err(|e| erreur(std::io::Error::other(e)))?
        .empreinte();
    fichier.flush().map_err(erreur)?;
    Ok(Ferme {
        fichiers: z.fichiers,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ecrire_essai(chemin: &Path, grande: usize) -> Ferme {
        let zip = Ecrivain::ouvrir(chemin, zip::DateTime::default()).unwrap();
        zip.fichier("LISEZMOI.txt", true, b"bonjour ".repeat(1000))
            .await
            .unwrap();
        let morceaux: Vec<Morceau> = vec![Box::new(vec![1u8; 70_000]), Box::new(vec![2u8; 5])];
        zip.piece("a.pdf", false, morceaux, None).await.unwrap();
        zip.ouvrir_entree("b.jpg", false, None, None).await.unwrap();
        for _ in 0..grande.div_ceil(1 << 20) {
            zip.ecrire(Box::new(vec![3u8; 1 << 20])).await.unwrap();
        }
        zip.fermer_entree().await.unwrap();
        let mut flux = zip.en_flux("manifeste.json", true).await.unwrap();
        flux.ecrire(b"{}").await.unwrap();
        flux.fermer().await.unwrap();
        zip.terminer().await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn l_empreinte_prise_en_ecrivant_est_celle_du_fichier() {
        let dir = tempfile::tempdir().unwrap();
        let chemin = dir.path().join("petit.zip");
        let ferme = ecrire_essai(&chemin, 3 << 20).await;
        assert_eq!(ferme.fichiers, 4);
        let fichier = Sha256Digest::of(&std::fs::read(&chemin).unwrap());
        assert_eq!(ferme.sha256, Some(fichier));
        // An entry too large to hold back: no hash while writing, the caller reads the file.
        let chemin = dir.path().join("grand.zip");
        assert_eq!(ecrire_essai(&chemin, RETENUE_MAX + 1).await.sha256, None);
    }
}
