//! What happens after the last signature, run by the outbox: the final version is rendered
//! with its certificat de preuve and sealed (PAdES, RFC 3161), filed in the evidence store,
//! then e-mailed to the workflow's recipients, each acceptance recorded as evidence.

use super::secrets::{self, Secret};
use super::{App, Erreur};
use crate::db::documents::{self as docs, Document};
use crate::db::signataires::{self, Signe};
use crate::db::{self, participants, personnel, referentiel};
use crate::delivery::{Accuse, Courriel};
use crate::outbox::{self, Genre, Tache};
use crate::workflow::Role;
use chrono::{DateTime, Utc};
use parafe_core::document::Etat;
use parafe_core::model::{
    EvidenceMetadata, JournalEntry, JournalEvent, PlieId, RenderedPdf, Sha256Digest,
};
use parafe_template::render::{Attachment, RenderError, RenderOptions};
use parafe_template::template::TemplateError;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Moves a document to its next state in the caller's transaction, and queues the journal
/// entry recording it; a request that ends unsigned closes its links. False if the document
/// changed meanwhile.
pub async fn transition(
    app: &App,
    tx: &mut sqlx::AnyConnection,
    document: &Document,
    vers: Etat,
    acteur: &str,
) -> Result<bool, Erreur> {
    let de = document.etat;
    de.vers(vers)?;
    let maintenant = app.horloge.maintenant();
    let le = db::instant(maintenant);
    if !docs::transition(tx, document.id, de, vers, acteur, &le).await? {
        return Ok(false);
    }
    if matches!(vers, Etat::Refuse | Etat::Expire | Etat::Annule) {
        // The end of the request: links already sent stop working.
        signataires::clore_les_liens(tx, document.id).await?;
    }
    let evenement = parafe_core::model::JournalEvent::DocumentTransition {
        document: document.reference.clone(),
        from: de.code().into(),
        to: vers.code().into(),
        actor: acteur.into(),
    };
    let objets: Vec<&str> = [&document.sha256_rendu, &document.sha256_scelle]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    outbox::ajouter(
        tx,
        &format!("journal:{}", db::nouvelle_ref("t")),
        Genre::Journal,
        &document.plie,
        &json!({ "evenement": evenement, "objets": objets }),
        maintenant,
    )
    .await?;
    Ok(true)
}

/// Queues the sealing of a document signed by all (or that nobody signs), in the caller's
/// transaction: the outbox renders its final version, seals and files it.
pub async fn demander_scellement(
    tx: &mut sqlx::AnyConnection,
    document: &Document,
    maintenant: DateTime<Utc>,
) -> Result<(), Erreur> {
    outbox::ajouter(
        tx,
        &format!("sceller:{}", document.reference),
        Genre::Sceller,
        &document.plie,
        &json!({ "document": document.reference }),
        maintenant,
    )
    .await?;
    Ok(())
}

/// Typst's memoized results kept after each rendering of the service: those used by one of the
/// last ten (fonts, the templates' common parts), not every sheet's layout.
const RENDUS_MEMOISES: usize = 10;

/// Renders a template on the large-stack pool (Typst needs deep stacks), off the async threads,
/// with the files to attach (PDF/A-3).
pub async fn rendre(
    app: &App,
    plie: &str,
    modele: &str,
    donnees: Value,
    le: DateTime<Utc>,
    attachments: Vec<Attachment>,
) -> Result<RenderedPdf, Erreur> {
    let modele = modele.to_owned();
    let images = images(app, plie, &donnees).await?;
    tokio::task::spawn_blocking(move || {
        let options = RenderOptions {
            generated_at: le,
            attachments,
            images,
        };
        parafe_template::render::render_pooled(&modele, &donnees, &options, RENDUS_MEMOISES)
            .map_err(|e| match e {
                // Data the template refuses is a field to fill, named in French, not a fault.
                RenderError::Template(TemplateError::InvalidData { errors, .. }) => {
                    Erreur::Champs { champs: errors }
                }
                autre => Erreur::Composition(autre),
            })
    })
    .await?
}

/// The images a document's data names: the PLIE's logo its card carried when the document was
/// made (logos are kept by name, so the document composes again identically).
async fn images(app: &App, plie: &str, donnees: &Value) -> Result<Vec<(String, Vec<u8>)>, Erreur> {
    let Some(nom) = donnees.pointer("/plie/logo").and_then(Value::as_str) else {
        return Ok(Vec::new());
    };
    match db::referentiel::logo(&app.db, plie, nom).await? {
        Some(octets) => Ok(vec![(nom.to_owned(), octets)]),
        None => Err(Erreur::invalide(
            "donnees.plie.logo",
            format!("logo « {nom} » inconnu du PLIE : déposez-le dans les réglages"),
        )),
    }
}

fn chemin_version(app: &App, sha: &str) -> PathBuf {
    app.versions
        .join(sha.get(..2).unwrap_or("xx"))
        .join(format!("{sha}.pdf"))
}

/// Where a cluster keeps a version in the store's bucket (a working object, not a PLIE's).
fn cle_version(sha: &str) -> String {
    format!("_versions/{sha}.pdf")
}

/// Puts the versions of a data directory's `versions/` in `target`'s bucket, where a cluster
/// reads them (moving an installation to a cluster). Each file's bytes are hashed: a file that
/// does not match its name is refused.
pub async fn deposer_les_versions(
    dossier: &Path,
    target: &parafe_store::s3::S3,
) -> Result<usize, Erreur> {
    let lire = |e| Erreur::fichier(format!("versions de {}", dossier.display()))(e);
    let mut deposees = 0;
    let mut sous_dossiers = match tokio::fs::read_dir(dossier).await {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(lire(e)),
    };
    while let Some(sous) = sous_dossiers.next_entry().await.map_err(lire)? {
        let mut fichiers = tokio::fs::read_dir(sous.path()).await.map_err(lire)?;
        while let Some(fichier) = fichiers.next_entry().await.map_err(lire)? {
            let octets = tokio::fs::read(fichier.path()).await.map_err(lire)?;
            let sha = Sha256Digest::of(&octets);
            if fichier.file_name().to_string_lossy() != format!("{}.pdf", sha.to_hex()) {
                return Err(Erreur::Interne(format!(
                    "{} n'a pas l'empreinte que son nom annonce",
                    fichier.path().display()
                )));
            }
            let taille = octets.len() as u64;
            target
                .put_working(
                    &cle_version(&sha.to_hex()),
                    octets.into(),
                    taille,
                    &sha,
                    "application/pdf",
                )
                .await
                .map_err(parafe_store::StoreError::from)?;
            deposees += 1;
        }
    }
    Ok(deposees)
}

/// Keeps a version's bytes under their hash (durably, before the database refers to them). In
/// a cluster, in the store's bucket, where every instance reads them; the local file is then
/// a copy only.
pub async fn garder_version(app: &App, octets: &[u8]) -> Result<(), Erreur> {
    let sha = Sha256Digest::of(octets);
    if app.config.instance().is_some() {
        app.vault
            .keep_working(
                &cle_version(&sha.to_hex()),
                parafe_store::Content::Bytes(octets.to_vec()),
                &sha,
                octets.len() as u64,
                "application/pdf",
            )
            .await?;
        copie_locale(app, &sha.to_hex(), octets).await;
        return Ok(());
    }
    ecrire_version(chemin_version(app, &sha.to_hex()), octets.to_vec())
        .await
        .map_err(|e| Erreur::ecriture("écriture d'une version", &e))
}

async fn ecrire_version(chemin: PathBuf, octets: Vec<u8>) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        if chemin.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(chemin.parent().unwrap_or(&chemin))?;
        parafe_core::files::write_durably(&chemin, &octets)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// A cluster's local copy of a version, to read it without the network: a failure costs a
/// later download, nothing else.
async fn copie_locale(app: &App, sha: &str, octets: &[u8]) {
    if let Err(e) = ecrire_version(chemin_version(app, sha), octets.to_vec()).await {
        tracing::warn!("copie locale de la version {sha} non écrite : {e}");
    }
}

pub async fn lire_version(app: &App, sha: &str) -> Result<Vec<u8>, Erreur> {
    let local = tokio::fs::read(chemin_version(app, sha)).await;
    if app.config.instance().is_none() {
        return local.map_err(Erreur::fichier(format!("version {sha} illisible")));
    }
    if let Ok(octets) = local {
        return Ok(octets);
    }
    let absente = || {
        Erreur::fichier(format!("version {sha} illisible"))(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "absente du coffre",
        ))
    };
    let octets = app
        .vault
        .working_bytes(&cle_version(sha))
        .await?
        .ok_or_else(absente)?;
    // The store checked the bytes on their way in; this checks the key led to them.
    if Sha256Digest::of(&octets).to_hex() != sha {
        return Err(Erreur::Interne(format!(
            "la version {sha} lue dans le coffre n'a pas cette empreinte"
        )));
    }
    copie_locale(app, sha, &octets).await;
    Ok(octets)
}

/// The outbox's lanes. Each runs its own kinds of tasks, side by side with the others, so that
/// sealing a closed sheet never waits behind a flood of journal entries or e-mails.
#[derive(Debug, Clone, Copy)]
enum Voie {
    /// Rendering, sealing and filing: each document on its own, `taches_simultanees` at once.
    Documents,
    /// Journal entries: one lot at a time (each PLIE's chain has one head), one disk sync and
    /// two database writes for the whole lot.
    Journal,
}

/// Journal entries taken in one lot at most.
const LOT_JOURNAL: usize = 500;

impl Voie {
    fn genres(self) -> &'static [Genre] {
        match self {
            Voie::Documents => &[Genre::Sceller, Genre::Deposer],
            Voie::Journal => &[Genre::Journal],
        }
    }

    /// Lots run at once, and tasks in a lot.
    fn capacite(self, app: &App) -> (usize, usize) {
        let simultanees = app.config.service.taches_simultanees.max(1);
        match self {
            Voie::Documents => (simultanees, 1),
            Voie::Journal => (1, LOT_JOURNAL),
        }
    }

    /// Runs a lot; a task that fails is put off or given up ([`echouer`]).
    async fn executer(self, app: &App, lot: Vec<Tache>) {
        match self {
            Voie::Documents => {
                for tache in lot {
                    let fait = match tache.genre {
                        Genre::Sceller => sceller(app, &tache).await,
                        Genre::Deposer => deposer(app, &tache).await,
                        autre => Err(Erreur::Interne(format!("tâche {autre:?} hors de sa voie"))),
                    };
                    if let Err(e) = fait {
                        echouer(app, &tache, &e).await;
                    }
                }
            }
            Voie::Journal => journaliser_lot(app, lot).await,
        }
    }
}

/// How long a task taken stays this instance's without a renewal. Leases are renewed while
/// their tasks run ([`RENOUVELLEMENT`]) rather than made longer than the longest task: how long
/// a seal (TSA), a filing (S3) or an e-mail (SMTP) takes has no bound of parafe's own, and a
/// lease that long would keep a dead instance's tasks waiting as long before another takes them
/// over. With a minute, they start again within one; the holder would have to miss three
/// renewals in a row to lose a task it runs, and then its completion is refused
/// ([`db::outbox::terminer`]): the new holder records it. Leases are read on each instance's
/// clock: the instances' clocks must agree to well within the minute (NTP).
pub const BAIL: std::time::Duration = std::time::Duration::from_secs(60);

/// Time between two renewals of the leases this instance holds.
const RENOUVELLEMENT: std::time::Duration = std::time::Duration::from_secs(15);

fn fin_du_bail(app: &App) -> DateTime<Utc> {
    app.horloge.maintenant() + chrono::TimeDelta::from_std(BAIL).unwrap_or_default()
}

/// The tasks this process holds a lease on, from their taking until their end is recorded
/// (their lease then ends with them): those whose leases are renewed. A task left out by a bug
/// is not lost: its lease expires and it runs again.
#[derive(Clone, Default)]
struct Tenues(Arc<Mutex<HashSet<i64>>>);

impl Tenues {
    fn prendre(&self, ids: impl IntoIterator<Item = i64>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend(ids);
    }

    fn rendre<'i>(&self, ids: impl IntoIterator<Item = &'i i64>) {
        let mut tenues = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            tenues.remove(id);
        }
    }

    fn toutes(&self) -> Vec<i64> {
        let tenues = self.0.lock().unwrap_or_else(|p| p.into_inner());
        tenues.iter().copied().collect()
    }
}

/// Runs the outbox until the process ends (or the handle is aborted): its three lanes, and the
/// renewal of their leases. First the leases of this instance's previous life (a crash) are
/// given back: its unfinished tasks run again at once.
pub fn demarrer(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = db::outbox::liberer_les_miens(&app.db, app.instance()).await {
            tracing::error!("baux de la boîte d'envoi non rendus : {e}");
        }
        let tenues = Tenues::default();
        tokio::join!(
            voie(&app, Voie::Documents, &tenues),
            voie(&app, Voie::Journal, &tenues),
            courriels(&app, &tenues),
            renouveler(&app, &tenues),
        );
    })
}

/// Renews the leases of the tasks under way, in one statement, every [`RENOUVELLEMENT`].
async fn renouveler(app: &App, tenues: &Tenues) {
    let mut minuteur = tokio::time::interval(RENOUVELLEMENT);
    minuteur.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        minuteur.tick().await;
        let ids = tenues.toutes();
        if let Err(e) =
            db::outbox::renouveler(&app.db, app.instance(), &ids, fin_du_bail(app)).await
        {
            tracing::error!("baux de la boîte d'envoi non renouvelés : {e}");
        }
    }
}

/// Takes due tasks of these kinds for this instance; see [`db::outbox::prendre`].
async fn prendre_taches(
    app: &App,
    tenues: &Tenues,
    genres: &[Genre],
    limite: usize,
    commencer: bool,
) -> Result<Vec<Tache>, sqlx::Error> {
    let maintenant = app.horloge.maintenant();
    let taches = db::outbox::prendre(
        &app.db,
        app.instance(),
        maintenant,
        fin_du_bail(app),
        genres,
        limite,
        commencer,
    )
    .await?;
    tenues.prendre(taches.iter().map(|t| t.id));
    Ok(taches)
}

/// Gives the leases of unfinished tasks back (a lot that panicked, acceptances not recorded):
/// due again at once.
async fn liberer(app: &App, tenues: &Tenues, ids: &[i64]) {
    tenues.rendre(ids);
    if let Err(e) = db::outbox::liberer(&app.db, app.instance(), ids).await {
        // Their leases expire: the tasks run again then.
        tracing::error!("baux de la boîte d'envoi non rendus : {e}");
    }
}

/// One lane: takes the due tasks of its kinds as lots finish, then waits for a lot to finish,
/// a new task, or a second. The tasks taken are leased to this instance: neither this lane nor
/// another instance takes them again while they run.
async fn voie(app: &App, voie: Voie, tenues: &Tenues) {
    let (lots, taille) = voie.capacite(app);
    let mut reveil = app.reveil.ecouter();
    let mut en_cours = tokio::task::JoinSet::new();
    // The tasks of each lot running, still `attente` in the table until done.
    let mut pris: HashMap<tokio::task::Id, Vec<i64>> = HashMap::new();
    // Journal entries are begun as soon as taken (one write for the lot's taking and start).
    let commencer = matches!(voie, Voie::Journal);
    loop {
        let libres = lots.saturating_sub(en_cours.len());
        if libres > 0 {
            // Seen now: a task queued from here on rings again.
            reveil.borrow_and_update();
            match prendre_taches(app, tenues, voie.genres(), libres * taille, commencer).await {
                Ok(taches) => {
                    let mut taches = taches.into_iter().peekable();
                    while taches.peek().is_some() {
                        let lot: Vec<Tache> = taches.by_ref().take(taille).collect();
                        let ids = lot.iter().map(|t| t.id).collect();
                        let app = app.clone();
                        let tache = en_cours.spawn(async move { voie.executer(&app, lot).await });
                        pris.insert(tache.id(), ids);
                    }
                }
                Err(e) => tracing::error!("boîte d'envoi illisible : {e}"),
            }
        }
        let plein = en_cours.len() >= lots;
        tokio::select! {
            Some(fini) = en_cours.join_next_with_id(), if !en_cours.is_empty() => {
                match fini {
                    Ok((id, ())) => tenues.rendre(pris.remove(&id).iter().flatten()),
                    // A lot that panicked: its tasks stay due.
                    Err(e) => {
                        tracing::error!("lot de la boîte d'envoi interrompu : {e}");
                        let ids = pris.remove(&e.id()).unwrap_or_default();
                        liberer(app, tenues, &ids).await;
                    }
                }
            }
            Ok(()) = reveil.changed(), if !plein => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)), if !plein => {}
        }
    }
}

/// A failed task: given up with its reason when trying again cannot help, put off otherwise.
async fn echouer(app: &App, tache: &Tache, e: &Erreur) {
    let maintenant = app.horloge.maintenant();
    let raison = e.to_string();
    let ecrit = if e.permanente() {
        tracing::error!(tache = %tache.cle, essai = tache.essais + 1, erreur = ?e, "tâche abandonnée : {raison}");
        db::outbox::abandonner(&app.db, app.instance(), tache, &raison, maintenant).await
    } else {
        tracing::warn!(tache = %tache.cle, essai = tache.essais + 1, erreur = ?e, "tâche reportée : {raison}");
        let prochain = maintenant + outbox::attente(tache.essais + 1);
        db::outbox::reporter(&app.db, app.instance(), tache, &raison, prochain).await
    };
    if let Err(e) = ecrit {
        tracing::error!("échec de la tâche {} non consigné : {e}", tache.cle);
    }
}

fn plie_de(tache: &Tache) -> Result<PlieId, Erreur> {
    PlieId::new(&tache.plie).map_err(Erreur::Interne)
}

async fn document_de(app: &App, tache: &Tache) -> Result<Document, Erreur> {
    let reference = tache.charge["document"].as_str().unwrap_or_default();
    docs::par_ref(&app.db, &tache.plie, reference, None)
        .await?
        .ok_or_else(|| Erreur::Introuvable(format!("document {reference} introuvable")))
}

/// Marks the task done alone (its effect was already there).
async fn deja_fait(app: &App, tache: &Tache) -> Result<(), Erreur> {
    let mut tx = app.db.begin().await?;
    db::outbox::terminer(
        &mut tx,
        app.instance(),
        &[(tache.id, json!({ "deja_fait": true }))],
        app.horloge.maintenant(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An entry a journal task appends.
type Evenement = (JournalEvent, Vec<Sha256Digest>);

fn evenement_de(tache: &Tache) -> Result<(PlieId, Evenement), Erreur> {
    let evenement: JournalEvent = serde_json::from_value(tache.charge["evenement"].clone())?;
    let objets: Vec<Sha256Digest> = tache.charge["objets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| Sha256Digest::from_hex(o.as_str()?))
        .collect();
    Ok((plie_de(tache)?, (evenement, objets)))
}

/// The journal entries of a lot (marked started as they were taken): appended to each PLIE's
/// chain with one disk sync, marked done in one transaction. A task whose entry may be in the
/// journal already (a crash after the append) is matched to it rather than appended again.
async fn journaliser_lot(app: &App, lot: Vec<Tache>) {
    let mut par_plie: BTreeMap<PlieId, Vec<(&Tache, Evenement)>> = BTreeMap::new();
    for tache in &lot {
        match evenement_de(tache) {
            Ok((plie, evenement)) => par_plie.entry(plie).or_default().push((tache, evenement)),
            Err(e) => echouer(app, tache, &e).await,
        }
    }
    let mut faits: Vec<(&Tache, u64)> = Vec::new();
    for (plie, taches) in par_plie {
        let ids: Vec<&Tache> = taches.iter().map(|(t, _)| *t).collect();
        match journaliser_plie(app, &plie, taches).await {
            Ok(seqs) => faits.extend(seqs),
            Err(e) => {
                for tache in ids {
                    echouer(app, tache, &e).await;
                }
            }
        }
    }
    let termine = async {
        let maintenant = app.horloge.maintenant();
        let resultats: Vec<(i64, Value)> = faits
            .iter()
            .map(|(tache, seq)| (tache.id, json!({ "seq": seq })))
            .collect();
        let mut tx = app.db.begin().await?;
        db::outbox::terminer(&mut tx, app.instance(), &resultats, maintenant).await?;
        tx.commit().await
    };
    if let Err(e) = termine.await {
        let e = Erreur::from(e);
        // Still marked started: the next run finds the entries in the journal.
        for (tache, _) in &faits {
            echouer(app, tache, &e).await;
        }
    }
}

/// Appends one PLIE's entries of a lot, in order; returns each task's entry number.
async fn journaliser_plie<'t>(
    app: &App,
    plie: &PlieId,
    taches: Vec<(&'t Tache, Evenement)>,
) -> Result<Vec<(&'t Tache, u64)>, Erreur> {
    let mut recentes = if taches.iter().any(|(t, _)| t.interrompue) {
        entrees_recentes(app, plie)?
    } else {
        Vec::new()
    };
    let mut faits = Vec::new();
    let mut a_ecrire = Vec::new();
    for (tache, (evenement, objets)) in taches {
        // Each entry found answers for one task only: two tasks may journal the same event.
        let trouvee = tache
            .interrompue
            .then(|| {
                recentes
                    .iter()
                    .rposition(|e| e.event == evenement && e.objects == objets)
            })
            .flatten()
            .map(|i| recentes.remove(i).seq);
        match trouvee {
            Some(seq) => faits.push((tache, seq)),
            None => a_ecrire.push((tache, (evenement, objets))),
        }
    }
    let (qui, evenements): (Vec<&Tache>, Vec<Evenement>) = a_ecrire.into_iter().unzip();
    let entrees = app.vault.record_all(plie, evenements).await?;
    faits.extend(qui.into_iter().zip(entrees.iter().map(|e| e.seq)));
    Ok(faits)
}

/// The entries of a chain's last two segments, where a recent entry is.
fn entrees_recentes(app: &App, plie: &PlieId) -> Result<Vec<JournalEntry>, Erreur> {
    use parafe_journal::chain::{read_segment, segment_numbers, segment_path};
    let lire = || Erreur::fichier("journal illisible");
    // An interrupted task may be another instance's: what it wrote is in the shared lines.
    app.vault.journal().refresh(plie).map_err(lire())?;
    let dir = app.vault.journal().chain_dir(plie);
    let numeros = segment_numbers(&dir).map_err(lire())?;
    let mut entrees = Vec::new();
    for numero in numeros.iter().rev().take(2).rev() {
        entrees.extend(read_segment(&segment_path(&dir, *numero)).map_err(lire())?);
    }
    Ok(entrees)
}

/// A signature collected, as stored with its evidence.
impl Signe {
    fn preuve(&self) -> Value {
        self.traits
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null)
    }
    fn horodatage(&self) -> String {
        self.signe_le.map(|t| t.to_rfc3339()).unwrap_or_default()
    }
    /// How the signature was collected, as the document and its certificate name it: a link
    /// signer who signed on his phone from the référent's screen signed `telephone`.
    fn methode(&self) -> String {
        match self.preuve()["moyen"].as_str() {
            Some("telephone") => "telephone".into(),
            _ => self.methode.clone(),
        }
    }
}

async fn signes(app: &App, document: &Document) -> Result<Vec<Signe>, Erreur> {
    Ok(signataires::signes(&app.db, document.id).await?)
}

/// The signers' evidence as the certificat de preuve shows it, and in full as the PDF carries
/// it (strokes with their timing, consent).
fn preuves(signes: &[Signe]) -> (Value, Value) {
    let mut certificat = Vec::new();
    let mut detail = Vec::new();
    for s in signes {
        let preuve = s.preuve();
        certificat.push(json!({
            "nom": s.nom,
            "qualite": qualite(&s.role),
            "methode": s.methode(),
            "horodatage": s.horodatage(),
            "ip": s.ip.clone().filter(|i| !i.is_empty()).unwrap_or_else(|| "non communiquée".into()),
            "appareil": s.agent.clone().filter(|a| !a.is_empty()).map_or_else(|| "non communiqué".into(), |a| a.chars().take(90).collect::<String>()),
            "verification": preuve["verification"].as_str().unwrap_or_default(),
        }));
        detail.push(json!({
            "rang": s.rang, "role": s.role, "methode": s.methode, "signe_le": s.horodatage(),
            "ip": s.ip, "agent": s.agent, "version_sha256": s.version_sha256,
            "consentement": super::trace::CONSENTEMENT,
            "trace": preuve["trace"], "nom_tape": preuve["nom_tape"], "verification": preuve["verification"],
        }));
        if preuve["moyen"].is_string() {
            let d = detail.last_mut().expect("poussé juste avant");
            d["moyen"] = preuve["moyen"].clone();
            d["referent"] = preuve["referent"].clone();
        }
    }
    (json!(certificat), json!(detail))
}

fn qualite(role: &str) -> &'static str {
    match role {
        "participant" => "Participant",
        "referent" => "Référent de parcours",
        "animateur" => "Animateur",
        "partenaire" => "Partenaire",
        "equipe_animation" => "Équipe d'animation du PLIE",
        "referent_etape" => "Référent d'étape",
        "coordinateur" => "Coordinateur du PLIE",
        "membre" => "Membre de la commission",
        "president" => "Président de séance",
        "salarie" => "Salarié affecté à l'opération",
        "responsable" => "Supérieur hiérarchique",
        _ => "Signataire",
    }
}

/// Puts each signature in the template's data, where the workflow's role is drawn: the strokes
/// fitted to the template's box, or none for a typed name.
fn placer_signatures(donnees: &mut Value, signes: &[Signe]) {
    // The people of a list sign in its order: the n-th signer of a role is its n-th person.
    let mut rangs: HashMap<&'static str, usize> = HashMap::new();
    for s in signes {
        let trace = serde_json::from_value::<super::trace::Trace>(s.preuve()["trace"].clone())
            .map_or(json!([]), |t| t.pour_modele());
        let bloc = json!({ "horodatage": s.horodatage(), "methode": s.methode(), "trace": trace });
        let liste = crate::workflow::Role::parse(&s.role)
            .and_then(|r| r.liste())
            .filter(|l| donnees.get(*l).is_some_and(Value::is_array));
        let cible = match (liste, s.role.as_str()) {
            (Some(liste), _) => {
                let rang = rangs.entry(liste).or_default();
                *rang += 1;
                donnees[liste].get_mut(*rang - 1)
            }
            (None, "participant") => donnees.get_mut("participant"),
            (None, "referent") => donnees.get_mut("referent"),
            (None, "animateur") => donnees.get_mut("animateur"),
            (None, "president") => donnees.get_mut("president"),
            (None, "salarie") => donnees.get_mut("salarie"),
            (None, "responsable") => donnees.get_mut("responsable"),
            (None, "partenaire") => donnees
                .get_mut("retour")
                .and_then(|r| r.get_mut("partenaire")),
            _ => donnees.get_mut("tiers"),
        };
        if let Some(Value::Object(cible)) = cible {
            cible.insert("signature".into(), bloc);
        }
    }
}

async fn sceller(app: &App, tache: &Tache) -> Result<(), Erreur> {
    let document = document_de(app, tache).await?;
    match document.etat {
        Etat::Signe => {}
        Etat::Scelle | Etat::Depose | Etat::Delivre => return deja_fait(app, tache).await,
        autre => return Err(Erreur::Conflit(format!("sceller un document {autre}"))),
    }
    let mut donnees: Value = serde_json::from_str(&document.donnees)?;
    let signes = signes(app, &document).await?;
    placer_signatures(&mut donnees, &signes);
    let (certificat, detail) = preuves(&signes);
    let maintenant = app.horloge.maintenant();
    let cachet = app.cachet(&document.plie).await?;
    let sceau = cachet.chain.first();
    let titre = app
        .workflow(&document.workflow)
        .map_or(document.workflow.clone(), |w| w.titre.clone());
    donnees["preuve"] = json!({
        "document": titre,
        "versions": [{
            "libelle": "Version présentée aux signataires",
            "sha256": document.sha256_rendu,
            "horodatage": document.envoye_le.map(|t| t.to_rfc3339()),
        }],
        "signataires": certificat,
        "sceau": {
            "titulaire": sceau.map(parafe_seal::chain::subject).unwrap_or_default(),
            "emetteur": sceau.map(|c| c.tbs_certificate.issuer.to_string()).unwrap_or_default(),
            "numero_serie": sceau.map(|c| hex::encode(c.tbs_certificate.serial_number.as_bytes())).unwrap_or_default(),
            "horodatage": maintenant.to_rfc3339(),
            "autorite_horodatage": app.tsa.nom(),
            "autorite_qualifiee": app.tsa.qualifiee(),
        },
    });
    let piece = Attachment {
        name: "preuves.json".into(),
        description:
            "Preuves de signature : signataires, traits horodatés, consentement, vérifications"
                .into(),
        json: json!({ "document": document.reference, "version_presentee": document.sha256_rendu, "signatures": detail }),
    };
    let rendu = rendre(
        app,
        &document.plie,
        &document.modele,
        donnees,
        maintenant,
        vec![piece],
    )
    .await?;
    let scelle = parafe_seal::seal(&rendu, &cachet, &app.keys, &app.tsa).await?;
    garder_version(app, scelle.bytes()).await?;
    let le = db::instant(app.horloge.maintenant());
    let mut tx = app.db.begin().await?;
    let resultat =
        json!({ "sha256": scelle.sha256().to_hex(), "horodatage": scelle.timestamp().time });
    if db::outbox::terminer(
        &mut tx,
        app.instance(),
        &[(tache.id, resultat)],
        app.horloge.maintenant(),
    )
    .await?
    .is_empty()
    {
        return Ok(());
    }
    docs::ajouter_version(
        &mut tx,
        document.id,
        "scelle",
        &scelle.sha256().to_hex(),
        scelle.bytes().len() as i64,
        &le,
    )
    .await?;
    let document = docs::par_id(&mut *tx, document.id).await?.ok_or_else(|| {
        Erreur::Introuvable(format!("document {} introuvable", document.reference))
    })?;
    if !transition(app, &mut tx, &document, Etat::Scelle, "parafe").await? {
        return Err(Erreur::Conflit("état changé pendant le scellement".into()));
    }
    outbox::ajouter(
        &mut tx,
        &format!("deposer:{}", document.reference),
        Genre::Deposer,
        &document.plie,
        &json!({ "document": document.reference }),
        app.horloge.maintenant(),
    )
    .await?;
    tx.commit().await?;
    app.reveil.sonner();
    Ok(())
}

async fn deposer(app: &App, tache: &Tache) -> Result<(), Erreur> {
    let document = document_de(app, tache).await?;
    match document.etat {
        Etat::Scelle => {}
        Etat::Depose | Etat::Delivre => return deja_fait(app, tache).await,
        autre => return Err(Erreur::Conflit(format!("déposer un document {autre}"))),
    }
    let sha = document
        .sha256_scelle
        .clone()
        .ok_or_else(|| Erreur::Interne("pas de version scellée".into()))?;
    let octets = lire_version(app, &sha).await?;
    let plie = plie_de(tache)?;
    let participant = match document.participant_id {
        Some(id) => participants::par_id(&app.db, &document.plie, id).await?,
        None => None,
    };
    let operation = match document.operation_id {
        Some(id) => referentiel::operation(&app.db, &document.plie, id).await?,
        None => None,
    };
    let regle = operation
        .as_ref()
        .and_then(|o| o.regle_de_conservation(&app.vault));
    let jour = db::jour(document.envoye_le.unwrap_or(document.cree_le).date_naive());
    let metadata = EvidenceMetadata {
        content_type: "application/pdf".into(),
        original_name: format!("{jour}-{}.pdf", document.modele),
        operation: operation.map_or_else(|| "hors-operation".into(), |o| o.code),
        participant: participant.as_ref().map(|p| p.reference.clone()),
        kind: document.modele.clone(),
    };
    let depot = app
        .vault
        .file(
            &plie,
            metadata,
            parafe_store::Content::Bytes(octets),
            regle.as_ref(),
        )
        .await?;
    // Read before the transaction: a second connection taken while holding one could
    // exhaust the pool.
    let titre = app
        .workflow(&document.workflow)
        .map_or(document.workflow.clone(), |w| w.titre.clone());
    let nom_plie = referentiel::nom_plie(&app.db, &document.plie)
        .await?
        .unwrap_or_default();
    let destinataires = destinataires(app, &document, participant.as_ref()).await?;
    // A participant without e-mail gets their copy by hand: owed from now, until the PLIE
    // records how it was handed over (`documents::remettre_copie`).
    let copie_a_remettre = participant
        .as_ref()
        .is_some_and(|p| p.fiche.email.is_none())
        && app
            .workflow(&document.workflow)
            .is_some_and(|w| w.destinataires.contains(&Role::Participant));
    let maintenant = app.horloge.maintenant();
    let mut tx = app.db.begin().await?;
    let resultat = json!({ "seq": depot.seq, "cle": depot.object.key, "en_file": depot.queued });
    if db::outbox::terminer(&mut tx, app.instance(), &[(tache.id, resultat)], maintenant)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    docs::marquer_depose(&mut tx, document.id, depot.seq as i64).await?;
    if !transition(app, &mut tx, &document, Etat::Depose, "parafe").await? {
        return Err(Erreur::Conflit("état changé pendant le dépôt".into()));
    }
    if copie_a_remettre {
        db::remises::due(&mut tx, document.id, Role::Participant.nom(), maintenant).await?;
    }
    for (role, adresses) in destinataires {
        let courriel = Courriel {
            a: adresses,
            objet: format!("{titre} signé et scellé — {nom_plie}"),
            texte: format!(
                "Bonjour,\n\nVeuillez trouver ci-joint le document « {titre} » (référence {}), signé puis scellé \
                 par {nom_plie}.\n\nSon empreinte SHA-256 : {sha}\nLe cachet électronique et l'horodatage qu'il \
                 porte se vérifient avec tout lecteur PDF (panneau des signatures) ou `pdfsig`.\n",
                document.reference.to_uppercase()
            ),
            message_id: format!("<{}.{role}@parafe>", document.reference),
            piece_jointe: None,
            renvoi: false,
        };
        outbox::ajouter(
            &mut tx,
            &format!("remise:{}:{role}", document.reference),
            Genre::Courriel,
            &document.plie,
            &json!({ "courriel": courriel, "document": document.reference, "remise": role, "joindre": sha }),
            maintenant,
        )
        .await?;
    }
    tx.commit().await?;
    app.reveil.sonner();
    Ok(())
}

/// Who receives the sealed document, by the workflow's roles, with their addresses; a role
/// without a known address is left out (the document stays filed).
async fn destinataires(
    app: &App,
    document: &Document,
    participant: Option<&participants::Participant>,
) -> Result<Vec<(String, Vec<String>)>, Erreur> {
    let Some(workflow) = app.workflow(&document.workflow) else {
        return Ok(Vec::new());
    };
    let departement = match participant.and_then(|p| p.fiche.departement.as_deref()) {
        Some(code) => referentiel::departement(&app.db, &document.plie, code).await?,
        None => None,
    };
    let mut out = Vec::new();
    for role in &workflow.destinataires {
        let adresses: Vec<String> = match role {
            Role::Participant => participant
                .and_then(|p| p.fiche.email.clone())
                .into_iter()
                .collect(),
            Role::Prescripteur => participant
                .and_then(|p| p.fiche.email_prescripteur.clone())
                .into_iter()
                .collect(),
            Role::Referent => match participant
                .and_then(|p| p.fiche.referent_id)
                .or(document.auteur_id)
            {
                Some(id) => personnel::par_id(&app.db, &document.plie, id)
                    .await?
                    .map(|p| p.email)
                    .into_iter()
                    .collect(),
                None => Vec::new(),
            },
            Role::ReferentUniqueRsa => departement
                .as_ref()
                .map(|d| d.email_referent_unique.clone())
                .into_iter()
                .collect(),
            Role::Sdi => departement
                .as_ref()
                .map(|d| d.email_sdi.clone())
                .into_iter()
                .collect(),
            Role::Coordinateur => personnel::emails_coordinateurs(&app.db, &document.plie).await?,
            autre => signataires::emails_du_role(&app.db, document.id, autre.nom()).await?,
        };
        if !adresses.is_empty() {
            out.push((role.nom().to_owned(), adresses));
        }
    }
    Ok(out)
}

/// A message the SMTP server accepted, and what its acceptance completes.
struct Envoye {
    accuse: Accuse,
    renvoi: bool,
    /// Delivery of a sealed document to this recipient role.
    remise: Option<(String, Document)>,
}

/// The e-mail lane. Up to `taches_simultanees` messages are on the wire at all times: a message
/// starts as soon as a place frees (taken with those free then, marked begun in one write), and
/// acceptances are recorded by groups: all those that arrived during the previous record, in one
/// transaction. No message waits for the others of a lot, nor for a disk sync.
async fn courriels(app: &App, tenues: &Tenues) {
    let simultanees = app.config.service.taches_simultanees.max(1);
    // Take more once an eighth of the places is free: a "begun" write for several places, while
    // the places left waiting stay few (a quarter: 83-87 % of lettre alone, an eighth: 86-89 %,
    // three alternated pairs on 05/12; taking them as the sends run, beside them: 74-79 %).
    let reprise = simultanees.div_ceil(8);
    let mut reveil = app.reveil.ecouter();
    let mut envois = tokio::task::JoinSet::new();
    let mut en_vol: HashMap<tokio::task::Id, i64> = HashMap::new();
    let mut arrives: Vec<(Tache, Option<Envoye>)> = Vec::new();
    // The record under way, and the tasks it records.
    let mut greffe: Option<(tokio::task::JoinHandle<()>, Vec<i64>)> = None;
    loop {
        let libres = simultanees - envois.len();
        if libres >= reprise {
            reveil.borrow_and_update();
            // Taken and marked begun in one write (a message begun and not recorded is sent
            // again marked as such after a crash); leased: never taken twice.
            match prendre_taches(app, tenues, &[Genre::Courriel], libres, true).await {
                Ok(taches) => {
                    for tache in taches {
                        let (app, id) = (app.clone(), tache.id);
                        let envoi = envois.spawn(async move {
                            let envoi = envoyer_un(&app, &tache).await;
                            (tache, envoi)
                        });
                        en_vol.insert(envoi.id(), id);
                    }
                }
                Err(e) => tracing::error!("boîte d'envoi illisible : {e}"),
            }
        }
        if greffe.is_none() && !arrives.is_empty() {
            let (app, lot) = (app.clone(), std::mem::take(&mut arrives));
            let ids = lot.iter().map(|(t, _)| t.id).collect();
            let tache = tokio::spawn(async move {
                let ids: Vec<i64> = lot.iter().map(|(t, _)| t.id).collect();
                if let Err(e) = enregistrer(&app, lot).await {
                    // Left `attente`: taken again, and sent again marked as such.
                    tracing::error!("accusés de remise non enregistrés : {e}");
                    if let Err(e) = db::outbox::liberer(&app.db, app.instance(), &ids).await {
                        tracing::error!("baux de la boîte d'envoi non rendus : {e}");
                    }
                }
            });
            greffe = Some((tache, ids));
        }
        let attente = envois.len() < simultanees;
        tokio::select! {
            Some(fini) = envois.join_next_with_id(), if !envois.is_empty() => match fini {
                Ok((id, (tache, envoi))) => {
                    en_vol.remove(&id);
                    match envoi {
                        Ok(envoye) => arrives.push((tache, envoye)),
                        Err(e) => {
                            echouer(app, &tache, &e).await;
                            tenues.rendre([&tache.id]);
                        }
                    }
                }
                // A send that panicked: its task stays due.
                Err(e) => {
                    tracing::error!("envoi de courriel interrompu : {e}");
                    if let Some(tache) = en_vol.remove(&e.id()) {
                        liberer(app, tenues, &[tache]).await;
                    }
                }
            },
            fini = async {
                match greffe.as_mut() {
                    Some((tache, _)) => tache.await,
                    None => std::future::pending().await,
                }
            } => {
                if let Err(e) = &fini {
                    tracing::error!("enregistrement des accusés interrompu : {e}");
                }
                let ids = greffe.take().map(|g| g.1).unwrap_or_default();
                match fini {
                    Ok(()) => tenues.rendre(&ids),
                    Err(_) => liberer(app, tenues, &ids).await,
                }
            }
            Ok(()) = reveil.changed(), if attente => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)), if attente => {}
        }
    }
}

/// Records the acceptances of sent e-mails in one transaction (one disk sync for all): their
/// tasks done, the delivery of each sealed document queued for the journal, and a document
/// delivered to all its recipients moved to `delivre`.
async fn enregistrer(app: &App, envoyes: Vec<(Tache, Option<Envoye>)>) -> Result<(), Erreur> {
    let maintenant = app.horloge.maintenant();
    let resultats: Vec<(i64, Value)> = envoyes
        .iter()
        .map(|(tache, envoye)| {
            let resultat = match envoye {
                Some(e) => json!(e.accuse),
                None => json!({ "sans_objet": true }),
            };
            (tache.id, resultat)
        })
        .collect();
    let mut tx = app.db.begin().await?;
    let marquees = db::outbox::terminer(&mut tx, app.instance(), &resultats, maintenant).await?;
    for (tache, envoye) in &envoyes {
        if !marquees.contains(&tache.id) {
            continue;
        }
        let Some(Envoye {
            accuse,
            renvoi,
            remise: Some((role, document)),
        }) = envoye
        else {
            continue;
        };
        let evenement = JournalEvent::DocumentDelivered {
            document: document.reference.clone(),
            recipient: role.clone(),
            message_id: accuse.message_id.clone(),
            smtp_reply: accuse.reponse.clone(),
            accepted_at: accuse.accepte_le,
            resent: *renvoi,
        };
        outbox::ajouter(
            &mut tx,
            &format!("journal:remise:{}:{role}", document.reference),
            Genre::Journal,
            &document.plie,
            &json!({ "evenement": evenement, "objets": [document.sha256_scelle] }),
            maintenant,
        )
        .await?;
        if tout_remis(&mut tx, document).await? {
            transition(app, &mut tx, document, Etat::Delivre, "parafe").await?;
        }
    }
    tx.commit().await?;
    app.reveil.sonner();
    Ok(())
}

/// True once every copy of a filed document has reached its recipient: the e-mails accepted
/// by their servers, the copies owed by hand recorded as handed over.
pub(crate) async fn tout_remis(
    tx: &mut sqlx::AnyConnection,
    document: &Document,
) -> Result<bool, Erreur> {
    Ok(
        db::outbox::remises_restantes(tx, &document.reference).await? == 0
            && db::remises::dues(tx, document.id).await? == 0,
    )
}

/// Sends one message; None when the secret it was to carry is no longer wanted (then nothing
/// is sent).
async fn envoyer_un(app: &App, tache: &Tache) -> Result<Option<Envoye>, Erreur> {
    let mut courriel: Courriel = serde_json::from_value(tache.charge["courriel"].clone())?;
    if let Some(secret) = tache.charge.get("secret") {
        let secret: Secret = serde_json::from_value(secret.clone())?;
        match secret.tirer(app).await? {
            Some(valeur) => courriel.texte = secrets::inserer(&courriel.texte, &valeur),
            None => return Ok(None),
        }
    }
    let remise = match tache.charge["remise"].as_str() {
        Some(role) => Some((role.to_owned(), document_de(app, tache).await?)),
        None => None,
    };
    if let (Some(sha), Some((_, document))) = (tache.charge["joindre"].as_str(), &remise) {
        courriel.piece_jointe = Some((
            format!("{}-{}.pdf", document.modele, document.reference),
            lire_version(app, sha).await?,
        ));
    }
    courriel.renvoi = tache.interrompue;
    let accuse = app.courrier.envoyer(&courriel, &plie_de(tache)?).await?;
    Ok(Some(Envoye {
        accuse,
        renvoi: courriel.renvoi,
        remise,
    }))
}
