//! What each participant and the opération have, and what they lack: the pieces known to the
//! database (sealed documents, justificatifs) read once into a [`Dossier`], then checked against
//! the catalogue's requirements as of a day ([`evaluer`]). The same dossier feeds the checklist
//! screens and the audit pack.

use super::catalogue::{Catalogue, Depuis, Exigence, Portee};
use crate::db::{bilans, justificatifs, referentiel};
use chrono::{Datelike, Months, NaiveDate};
use parafe_core::document::Etat as EtatDocument;
use parafe_core::horloge::jour_a_paris;
use parafe_core::model::PlieId;
use serde::Serialize;
use std::collections::HashMap;

/// Where a piece comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// A parafe document (table `document`), by its public reference.
    Document {
        id: i64,
        reference: String,
    },
    Justificatif {
        id: i64,
    },
}

/// One piece of evidence known for a participant or for the opération.
#[derive(Debug, Clone, Serialize)]
pub struct Piece {
    #[serde(flatten)]
    pub source: Source,
    /// Template name (documents) or catalogue type (justificatifs).
    pub genre: String,
    pub libelle: String,
    /// The day of the act (interview, contract, bilan) or the day the piece bears.
    pub date: Option<NaiveDate>,
    /// The day it was filed (Paris).
    pub depose_le: Option<NaiveDate>,
    /// Documents with their own due day (bilans BRSA).
    pub echeance: Option<NaiveDate>,
    /// Life-cycle state of a document (`document::Etat` code); `depose` for a justificatif.
    pub etat: String,
    /// Sealed and in the evidence store (justificatifs always are).
    pub disponible: bool,
    pub sha256: Option<String>,
    pub taille: Option<i64>,
    pub type_mime: String,
    /// Journal entry that filed it.
    pub seq: Option<i64>,
    /// Original file name (justificatifs).
    pub nom_fichier: Option<String>,
    pub etape: Option<String>,
    /// A collective sheet, shared by every attendee.
    pub collectif: bool,
    /// The staff members who sign it from their account (an opération's documents only).
    #[serde(skip)]
    pub personnel: Vec<SignatairePersonnel>,
}

/// A staff member signing a document in a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatairePersonnel {
    pub role: String,
    pub personnel_id: i64,
    /// As the document names him.
    pub nom: String,
}

impl Piece {
    /// A parafe document (else a justificatif).
    pub fn est_document(&self) -> bool {
        matches!(self.source, Source::Document { .. })
    }

    /// The day that tells whether it came in time: the act for documents, the filing for
    /// justificatifs (a proof uploaded two months after the exit is late).
    fn jour_probant(&self) -> Option<NaiveDate> {
        if self.est_document() {
            self.date.or(self.depose_le)
        } else {
            self.depose_le.or(self.date)
        }
    }
}

/// A participant of the opération with its pieces.
#[derive(Debug, Clone, Serialize)]
pub struct DossierParticipant {
    #[serde(skip)]
    pub id: i64,
    #[serde(rename = "ref")]
    pub reference: String,
    /// The identifier of the parcours software (UP Viesion), as staff know the person.
    pub identifiant: String,
    pub nom: String,
    pub prenom: String,
    pub commune: String,
    pub date_naissance: Option<NaiveDate>,
    pub date_entree: Option<NaiveDate>,
    pub date_sortie: Option<NaiveDate>,
    pub motif_sortie: Option<String>,
    #[serde(skip)]
    pub referent_id: Option<i64>,
    pub pieces: Vec<Piece>,
    /// Due days of his bilans BRSA planned but not opened yet (no document, so no piece).
    #[serde(skip)]
    pub bilans_a_rediger: Vec<NaiveDate>,
}

impl DossierParticipant {
    /// Whether the accompaniment overlaps the period.
    pub fn suivi_pendant(&self, periode: &Periode) -> bool {
        self.date_entree.is_none_or(|e| e <= periode.au)
            && self.date_sortie.is_none_or(|s| s >= periode.du)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OperationInfo {
    #[serde(skip)]
    pub id: i64,
    pub code: String,
    pub intitule: String,
    pub programme: crate::operations::Programme,
}

impl From<referentiel::Operation> for OperationInfo {
    fn from(o: referentiel::Operation) -> OperationInfo {
        OperationInfo {
            id: o.id,
            code: o.code,
            intitule: o.intitule,
            programme: o.programme,
        }
    }
}

/// Everything the database knows about an opération's evidence (for the filter asked).
#[derive(Debug, Clone, Serialize)]
pub struct Dossier {
    pub plie: String,
    pub operation: OperationInfo,
    pub participants: Vec<DossierParticipant>,
    /// Pieces of the opération itself (publicity proofs…).
    pub pieces: Vec<Piece>,
    /// The PLIE as documents show it (name, structure, address): its card, else the `plie`
    /// object of the opération's latest document.
    #[serde(skip)]
    pub plie_donnees: Option<serde_json::Value>,
}

/// A period, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Periode {
    pub du: NaiveDate,
    pub au: NaiveDate,
}

impl Periode {
    pub fn contient(&self, jour: NaiveDate) -> bool {
        self.du <= jour && jour <= self.au
    }

    /// No bounds: the whole accompaniment.
    pub fn toute() -> Periode {
        Periode {
            du: NaiveDate::MIN,
            au: NaiveDate::MAX,
        }
    }
}

/// Which participants to load.
#[derive(Debug, Clone, Default)]
pub struct Filtre {
    /// One participant, by reference or parcours identifier.
    pub participant: Option<String>,
    /// A référent's portfolio.
    pub referent_id: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum DossierError {
    #[error("opération « {0} » inconnue dans ce PLIE")]
    OperationInconnue(String),
    #[error("participant « {0} » inconnu dans cette opération")]
    ParticipantInconnu(String),
    #[error("lecture de la base impossible : {0}")]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Catalogue(#[from] super::catalogue::CatalogueError),
}

fn jour(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|s| s.get(..10))
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// Reads an opération's dossier: its participants (all, one, or a référent's), their sealed
/// documents and justificatifs, and the opération's own pieces. Personal data stays in memory
/// for the caller to show or leave out.
pub async fn charger(
    db: &sqlx::AnyPool,
    plie: &str,
    operation: &str,
    filtre: &Filtre,
    catalogue: &Catalogue,
) -> Result<Dossier, DossierError> {
    let op = referentiel::operation_par_code(db, plie, operation)
        .await?
        .map(OperationInfo::from)
        .ok_or_else(|| DossierError::OperationInconnue(operation.to_owned()))?;
    let mut lignes = justificatifs::participants(
        db,
        plie,
        op.id,
        filtre.participant.as_deref(),
        filtre.referent_id,
    )
    .await?;
    if let Some(r) = &filtre.participant {
        if lignes.is_empty() {
            return Err(DossierError::ParticipantInconnu(r.clone()));
        }
        // An identifier that spells another's reference: the reference wins, as everywhere
        // (`db::participants::a_portee`).
        if lignes.len() > 1 {
            lignes.retain(|l| &l.reference == r);
        }
    }
    let mut participants: Vec<DossierParticipant> = Vec::with_capacity(lignes.len());
    let mut par_id = HashMap::new();
    for (i, l) in lignes.into_iter().enumerate() {
        par_id.insert(l.id, i);
        participants.push(DossierParticipant {
            id: l.id,
            reference: l.reference,
            identifiant: l.identifiant_externe,
            nom: l.nom,
            prenom: l.prenom,
            commune: l.commune,
            date_naissance: l.date_naissance,
            date_entree: l.date_entree,
            date_sortie: l.date_sortie,
            motif_sortie: l.motif_sortie,
            referent_id: l.referent_id,
            pieces: Vec::new(),
            bilans_a_rediger: Vec::new(),
        });
    }

    // The date inside the data (interviews, bilans), else the last signature, else the last change.
    let documents = justificatifs::documents(db, plie, op.id).await?;
    // The attendees of each sheet signed by several (all of them: a sheet whose attendees are
    // filtered out is nobody's piece here, not the opération's).
    let presents = justificatifs::presents(db, plie, op.id).await?;
    let mut presents_par_document: HashMap<i64, Vec<usize>> = HashMap::new();
    for (doc, participant) in presents {
        let presents = presents_par_document.entry(doc).or_default();
        if let Some(&i) = par_id.get(&participant) {
            presents.push(i);
        }
    }
    // The staff who sign the opération's own documents (a time sheet's employee), by document.
    let mut personnel_par_document: HashMap<i64, Vec<SignatairePersonnel>> = HashMap::new();
    for (doc, role, personnel_id, nom) in
        justificatifs::personnel_signataire(db, plie, op.id).await?
    {
        personnel_par_document
            .entry(doc)
            .or_default()
            .push(SignatairePersonnel {
                role,
                personnel_id,
                nom,
            });
    }
    let mut pieces_operation = Vec::new();
    for d in documents {
        let (id, participant_id) = (d.id, d.participant_id);
        let collectif = presents_par_document.get(&id);
        let mut piece = piece_du_document(catalogue, d, collectif.is_some());
        match (participant_id.and_then(|p| par_id.get(&p)), collectif) {
            (Some(&i), _) => participants[i].pieces.push(piece),
            (None, Some(presents)) => {
                for &i in presents {
                    participants[i].pieces.push(piece.clone());
                }
            }
            // Filtered out, or a document of the opération itself (affiche, time sheet).
            (None, None) if participant_id.is_none() => {
                piece.personnel = personnel_par_document.remove(&id).unwrap_or_default();
                pieces_operation.push(piece);
            }
            (None, None) => {}
        }
    }

    for (participant, echeance) in bilans::a_rediger_de_l_operation(db, plie, op.id).await? {
        if let Some(&i) = par_id.get(&participant) {
            participants[i].bilans_a_rediger.push(echeance);
        }
    }

    let justificatifs = justificatifs::de_l_operation(db, plie, op.id).await?;
    for j in justificatifs {
        let piece = Piece {
            source: Source::Justificatif { id: j.id },
            libelle: catalogue.libelle(&j.genre),
            genre: j.genre,
            date: j.date_piece,
            depose_le: Some(jour_a_paris(j.depose_le)),
            echeance: None,
            etat: "depose".into(),
            disponible: true,
            sha256: Some(j.sha256),
            taille: Some(j.taille),
            type_mime: j.type_mime,
            seq: Some(j.depose_seq),
            nom_fichier: Some(j.nom_fichier),
            etape: j.etape,
            collectif: false,
            personnel: Vec::new(),
        };
        match j.participant_id {
            None => pieces_operation.push(piece),
            Some(p) => {
                if let Some(&i) = par_id.get(&p) {
                    participants[i].pieces.push(piece);
                }
            }
        }
    }
    for p in &mut participants {
        p.pieces
            .sort_by(|a, b| (a.date, &a.genre).cmp(&(b.date, &b.genre)));
    }
    pieces_operation.sort_by(|a, b| (a.date, &a.genre).cmp(&(b.date, &b.genre)));

    let plie_donnees = justificatifs::plie_donnees(db, plie, op.id).await?;
    Ok(Dossier {
        plie: plie.to_owned(),
        operation: op,
        participants,
        pieces: pieces_operation,
        plie_donnees: plie_donnees.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

/// A parafe document as a piece of the dossier (without its staff signers).
fn piece_du_document(
    catalogue: &Catalogue,
    d: justificatifs::DocumentDuDossier,
    collectif: bool,
) -> Piece {
    let disponible =
        d.sha256_scelle.is_some() && matches!(d.etat, EtatDocument::Depose | EtatDocument::Delivre);
    Piece {
        source: Source::Document {
            id: d.id,
            reference: d.reference,
        },
        libelle: catalogue.libelle(&d.modele),
        genre: d.modele,
        date: jour(d.date_donnees.as_deref())
            .or_else(|| d.signe_le.map(jour_a_paris))
            .or_else(|| Some(jour_a_paris(d.modifie_le))),
        depose_le: disponible.then(|| jour_a_paris(d.modifie_le)),
        echeance: d.echeance,
        etat: d.etat.code().to_owned(),
        disponible,
        sha256: d.sha256_scelle,
        taille: d.taille,
        type_mime: "application/pdf".into(),
        seq: d.depose_seq,
        nom_fichier: None,
        etape: None,
        collectif,
        personnel: Vec::new(),
    }
}

/// A month ended without the signed document a staff member owes for an opération each month
/// (a requirement counted `par_signataire`: his time sheet).
#[derive(Debug, Clone)]
pub struct MoisSansFeuille {
    pub plie: String,
    pub operation: String,
    pub personnel_id: i64,
    pub nom: String,
    pub email: String,
    /// The requirement's label (« Feuille de temps du personnel signée, chaque mois »).
    pub libelle: String,
    /// « septembre 2025 ».
    pub mois: String,
    /// The month's last day.
    pub fin: NaiveDate,
}

/// The months ended on `aujourdhui` without the signed document each staff member owes each
/// month for an opération of the PLIE whose documents he signs (or one staff member's), by the
/// requirements of the PLIE's catalogue that count `par_signataire`: the pack's rule, over the
/// months since his first document.
pub async fn mois_sans_feuille(
    db: &sqlx::AnyPool,
    catalogue: &Catalogue,
    plie: &PlieId,
    personnel: Option<i64>,
    aujourdhui: NaiveDate,
) -> Result<Vec<MoisSansFeuille>, DossierError> {
    let mut manquants = Vec::new();
    for e in catalogue
        .exigences
        .iter()
        .filter(|e| e.portee == Portee::Operation)
    {
        let Some(role) = &e.par_signataire else {
            continue;
        };
        // Opération → its documents of the kind as pieces, with their staff signers.
        let mut par_operation: std::collections::BTreeMap<String, Vec<Piece>> = Default::default();
        let mut emails: HashMap<i64, String> = HashMap::new();
        for f in
            justificatifs::documents_du_personnel(db, plie.as_str(), role, &e.documents, personnel)
                .await?
        {
            emails.insert(f.personnel_id, f.email);
            let signataire = SignatairePersonnel {
                role: f.role,
                personnel_id: f.personnel_id,
                nom: f.nom,
            };
            let pieces = par_operation.entry(f.operation).or_default();
            match pieces
                .iter_mut()
                .find(|p| matches!(&p.source, Source::Document { id, .. } if *id == f.document.id))
            {
                Some(p) => p.personnel.push(signataire),
                None => {
                    let mut p = piece_du_document(catalogue, f.document, false);
                    p.personnel.push(signataire);
                    pieces.push(p);
                }
            }
        }
        for (operation, pieces) in par_operation {
            for l in evaluer_exigence(catalogue, e, None, &pieces, &Periode::toute(), aujourdhui) {
                let (Some(id), Some(fin), EtatExigence::Manquant) =
                    (l.personnel, l.echeance, l.etat)
                else {
                    continue;
                };
                let nom = pieces
                    .iter()
                    .flat_map(|p| &p.personnel)
                    .find(|s| s.personnel_id == id)
                    .map(|s| s.nom.clone())
                    .unwrap_or_default();
                manquants.push(MoisSansFeuille {
                    plie: plie.as_str().to_owned(),
                    operation: operation.clone(),
                    personnel_id: id,
                    nom,
                    email: emails.get(&id).cloned().unwrap_or_default(),
                    libelle: e.libelle.clone(),
                    mois: l.precision.unwrap_or_default(),
                    fin,
                });
            }
        }
    }
    Ok(manquants)
}

impl MoisSansFeuille {
    /// « de novembre 2025 », « d'octobre 2025 ».
    pub fn du_mois(&self) -> String {
        if self.mois.starts_with(['a', 'o']) {
            format!("d'{}", self.mois)
        } else {
            format!("de {}", self.mois)
        }
    }
}

/// Where a requirement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EtatExigence {
    /// A piece is there, in time.
    Present,
    /// A piece is there, but came after the due day.
    Tardif,
    /// Nothing yet, not due yet.
    AVenir,
    /// Nothing, and the due day has passed.
    Manquant,
}

impl EtatExigence {
    /// As the API writes it (`present`, `tardif`, `a_venir`, `manquant`).
    pub fn code(self) -> &'static str {
        match self {
            EtatExigence::Present => "present",
            EtatExigence::Tardif => "tardif",
            EtatExigence::AVenir => "a_venir",
            EtatExigence::Manquant => "manquant",
        }
    }

    /// What the file lacks: nothing in time (missing, or present but late).
    pub fn est_un_manque(self) -> bool {
        matches!(self, EtatExigence::Manquant | EtatExigence::Tardif)
    }

    pub fn libelle(self) -> &'static str {
        match self {
            EtatExigence::Present => "présent",
            EtatExigence::Tardif => "présent, en retard",
            EtatExigence::AVenir => "à venir",
            EtatExigence::Manquant => "manquant",
        }
    }
}

/// One line of a checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Ligne {
    pub exigence: String,
    pub libelle: String,
    /// The month (« mars 2025 ») or the due piece (« bilan à 5 mois ») a line is about.
    pub precision: Option<String>,
    pub etat: EtatExigence,
    pub echeance: Option<NaiveDate>,
    /// Indexes, in the pieces given, of those that satisfy it.
    pub pieces: Vec<usize>,
    /// The staff member the line counts for (`par_signataire`), by his account.
    #[serde(skip)]
    pub personnel: Option<i64>,
}

fn premier_du_mois(jour: NaiveDate) -> NaiveDate {
    jour.with_day(1).unwrap_or(jour)
}

fn satisfait(exigence: &Exigence, piece: &Piece) -> bool {
    if piece.est_document() {
        piece.disponible && exigence.documents.contains(&piece.genre)
    } else {
        exigence.une_parmi.contains(&piece.genre)
    }
}

/// The checklist of a participant (`Some`) or of the opération (`None`, with its own pieces), as
/// of `aujourdhui`, for the requirements that fall in `periode`.
pub fn evaluer(
    catalogue: &Catalogue,
    participant: Option<&DossierParticipant>,
    pieces: &[Piece],
    periode: &Periode,
    aujourdhui: NaiveDate,
) -> Vec<Ligne> {
    let portee = if participant.is_some() {
        Portee::Participant
    } else {
        Portee::Operation
    };
    catalogue
        .exigences
        .iter()
        .filter(|e| e.portee == portee)
        .flat_map(|e| evaluer_exigence(catalogue, e, participant, pieces, periode, aujourdhui))
        .collect()
}

/// The lines of one requirement (see [`evaluer`]).
pub fn evaluer_exigence(
    catalogue: &Catalogue,
    e: &Exigence,
    participant: Option<&DossierParticipant>,
    pieces: &[Piece],
    periode: &Periode,
    aujourdhui: NaiveDate,
) -> Vec<Ligne> {
    let mut lignes = Vec::new();
    let ok: Vec<usize> = (0..pieces.len())
        .filter(|&i| satisfait(e, &pieces[i]))
        .collect();
    let ligne = |precision: Option<String>, etat, echeance, pieces: Vec<usize>| Ligne {
        exigence: e.id.clone(),
        libelle: e.libelle.clone(),
        precision,
        etat,
        echeance,
        pieces,
        personnel: None,
    };
    if let Some(n) = e.par_mois {
        for (signataire, ok) in par_signataire(e, participant, pieces, &ok) {
            let mois = mois_par_mois(n, participant, pieces, &ok, periode, aujourdhui);
            lignes.extend(mois.into_iter().map(|(precision, etat, echeance, dans)| {
                let mut l = ligne(Some(precision), etat, Some(echeance), dans);
                if let Some(s) = signataire {
                    l.libelle = format!("{} — {}", e.libelle, s.nom);
                    l.personnel = Some(s.personnel_id);
                }
                l
            }));
        }
    } else if e.echeances {
        for (i, piece) in pieces.iter().enumerate() {
            let Some(echeance) = piece.echeance.filter(|d| periode.contient(*d)) else {
                continue;
            };
            if !piece.est_document() || !e.documents.contains(&piece.genre) {
                continue;
            }
            let etat = match (piece.disponible, piece.jour_probant()) {
                (true, Some(d)) if d > echeance => EtatExigence::Tardif,
                (true, _) => EtatExigence::Present,
                (false, _) if echeance < aujourdhui => EtatExigence::Manquant,
                (false, _) => EtatExigence::AVenir,
            };
            let pris = if piece.disponible { vec![i] } else { vec![] };
            let precision = format!("{}, dû le {}", piece.libelle, echeance.format("%d/%m/%Y"));
            lignes.push(ligne(Some(precision), etat, Some(echeance), pris));
        }
        // Only bilans BRSA carry due days: those not opened yet are due all the same.
        let libelle = e.documents.first().map(|g| catalogue.libelle(g));
        for &echeance in participant
            .iter()
            .flat_map(|p| &p.bilans_a_rediger)
            .filter(|d| periode.contient(**d))
        {
            let etat = if echeance < aujourdhui {
                EtatExigence::Manquant
            } else {
                EtatExigence::AVenir
            };
            let precision = format!(
                "{}, dû le {}",
                libelle.as_deref().unwrap_or("Bilan"),
                echeance.format("%d/%m/%Y")
            );
            lignes.push(ligne(Some(precision), etat, Some(echeance), vec![]));
        }
    } else {
        let depart = match (e.depuis, participant) {
            (Some(Depuis::Entree), Some(p)) => p.date_entree,
            (Some(Depuis::Sortie), Some(p)) => p.date_sortie,
            _ => Some(periode.du),
        };
        // Not started (no exit yet) or after the period: nothing is expected.
        let Some(depart) = depart.filter(|d| *d <= periode.au) else {
            return lignes;
        };
        let echeance = depart
            .checked_add_days(chrono::Days::new(u64::from(e.delai_jours)))
            .unwrap_or(depart);
        let premier = ok.iter().filter_map(|&i| pieces[i].jour_probant()).min();
        let etat = match (ok.is_empty(), premier) {
            (false, Some(d)) if e.depuis.is_some() && d > echeance => EtatExigence::Tardif,
            (false, _) => EtatExigence::Present,
            (true, _) if echeance < aujourdhui => EtatExigence::Manquant,
            (true, _) => EtatExigence::AVenir,
        };
        let echeance = e.depuis.is_some().then_some(echeance);
        lignes.push(ligne(None, etat, echeance, ok));
    }
    lignes
}

/// Each calendar month up to today (name, state, last day, the pieces in it among `ok`): of
/// the accompaniment within the period for a participant; of the period for the opération, or,
/// asked for no period, from its first piece of the kind (the opération's start is not
/// recorded).
fn mois_par_mois(
    n: u32,
    participant: Option<&DossierParticipant>,
    pieces: &[Piece],
    ok: &[usize],
    periode: &Periode,
    aujourdhui: NaiveDate,
) -> Vec<(String, EtatExigence, NaiveDate, Vec<usize>)> {
    let bornes = match participant {
        Some(p) => p.date_entree.map(|entree| {
            (
                entree.max(periode.du),
                p.date_sortie.unwrap_or(aujourdhui).min(periode.au),
            )
        }),
        None => (periode.du != Periode::toute().du)
            .then_some(periode.du)
            .or_else(|| ok.iter().filter_map(|&i| pieces[i].date).min())
            .map(|debut| (debut, aujourdhui.min(periode.au))),
    };
    let Some((debut, fin)) = bornes else {
        return Vec::new();
    };
    let mut lignes = Vec::new();
    let mut mois = premier_du_mois(debut);
    while mois <= fin {
        let suivant = mois + Months::new(1);
        let dans: Vec<usize> = ok
            .iter()
            .copied()
            .filter(|&i| pieces[i].date.is_some_and(|d| mois <= d && d < suivant))
            .collect();
        let etat = if dans.len() as u32 >= n {
            EtatExigence::Present
        } else if suivant > aujourdhui {
            EtatExigence::AVenir
        } else {
            EtatExigence::Manquant
        };
        let fin_du_mois = suivant.pred_opt().unwrap_or(suivant);
        lignes.push((parafe_fse::nom_du_mois(mois), etat, fin_du_mois, dans));
        mois = suivant;
    }
    lignes
}

/// The pieces satisfying `e` (`ok`) of each staff member who signs its documents in the role
/// it counts by (`par_signataire`), from the opération's documents of its kind; the opération as
/// a whole (`None`) when it counts by none, for a participant, or while nobody signed any.
fn par_signataire<'a>(
    e: &Exigence,
    participant: Option<&DossierParticipant>,
    pieces: &'a [Piece],
    ok: &[usize],
) -> Vec<(Option<&'a SignatairePersonnel>, Vec<usize>)> {
    let Some(role) = e
        .par_signataire
        .as_deref()
        .filter(|_| participant.is_none())
    else {
        return vec![(None, ok.to_vec())];
    };
    let signe = |p: &Piece, id: i64| {
        p.personnel
            .iter()
            .any(|s| s.role == role && s.personnel_id == id)
    };
    let mut signataires: Vec<&SignatairePersonnel> = pieces
        .iter()
        .filter(|p| p.est_document() && e.documents.contains(&p.genre))
        .flat_map(|p| p.personnel.iter().filter(|s| s.role == role))
        .collect();
    signataires.sort_by(|a, b| (&a.nom, a.personnel_id).cmp(&(&b.nom, b.personnel_id)));
    signataires.dedup_by_key(|s| s.personnel_id);
    if signataires.is_empty() {
        return vec![(None, ok.to_vec())];
    }
    signataires
        .into_iter()
        .map(|s| {
            let siennes = ok
                .iter()
                .copied()
                .filter(|&i| signe(&pieces[i], s.personnel_id))
                .collect();
            (Some(s), siennes)
        })
        .collect()
}

/// Consecutive lines of one requirement in one state, read as one: twenty months without an
/// émargement make one line, « de mars 2025 à octobre 2026 (20 en tout) », not twenty.
pub fn regrouper<'a>(lignes: &[&'a Ligne]) -> Vec<Vec<&'a Ligne>> {
    lignes
        .chunk_by(|a, b| a.exigence == b.exigence && a.etat == b.etat && a.personnel == b.personnel)
        .map(<[&Ligne]>::to_vec)
        .collect()
}

/// What a group of lines is about: the month, the bilan…, or the span of months.
pub fn precision_du_groupe(groupe: &[&Ligne]) -> Option<String> {
    let precisions: Vec<&str> = groupe
        .iter()
        .filter_map(|l| l.precision.as_deref())
        .collect();
    match precisions.as_slice() {
        [] => None,
        [premiere, .., derniere] if precisions.len() > 3 => Some(format!(
            "de {premiere} à {derniere} ({} en tout)",
            precisions.len()
        )),
        _ => Some(precisions.join(" ; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn piece(genre: &str, date: &str, document: bool) -> Piece {
        Piece {
            source: if document {
                Source::Document {
                    id: 1,
                    reference: "d".into(),
                }
            } else {
                Source::Justificatif { id: 1 }
            },
            genre: genre.into(),
            libelle: genre.into(),
            date: Some(d(date)),
            depose_le: Some(d(date)),
            echeance: None,
            etat: "depose".into(),
            disponible: true,
            sha256: None,
            taille: None,
            type_mime: "application/pdf".into(),
            seq: None,
            nom_fichier: None,
            etape: None,
            collectif: false,
            personnel: Vec::new(),
        }
    }

    fn participant(entree: &str, sortie: Option<&str>) -> DossierParticipant {
        DossierParticipant {
            id: 1,
            reference: "P-1".into(),
            identifiant: "UP-1".into(),
            nom: "Martin".into(),
            prenom: "Léa".into(),
            commune: String::new(),
            date_naissance: None,
            date_entree: Some(d(entree)),
            date_sortie: sortie.map(d),
            motif_sortie: None,
            referent_id: None,
            bilans_a_rediger: Vec::new(),
            pieces: Vec::new(),
        }
    }

    #[test]
    fn sortie_sans_preuve_et_mois_sans_emargement() {
        let c = Catalogue::par_defaut().unwrap();
        let p = participant("2025-02-10", Some("2025-04-20"));
        let pieces = vec![
            piece("contrat-engagement", "2025-02-12", true),
            piece("emargement-individuel", "2025-02-20", true),
            piece("emargement-individuel", "2025-04-02", true),
        ];
        let lignes = evaluer(&c, Some(&p), &pieces, &Periode::toute(), d("2025-12-01"));
        let etat = |id: &str, precision: Option<&str>| {
            lignes
                .iter()
                .find(|l| l.exigence == id && l.precision.as_deref() == precision)
                .map(|l| l.etat)
        };
        assert_eq!(
            etat("contrat-engagement", None),
            Some(EtatExigence::Present)
        );
        assert_eq!(
            etat("emargements", Some("février 2025")),
            Some(EtatExigence::Present)
        );
        assert_eq!(
            etat("emargements", Some("mars 2025")),
            Some(EtatExigence::Manquant)
        );
        assert_eq!(etat("preuve-sortie", None), Some(EtatExigence::Manquant));
        // Within the 28 days after the exit, the proof is still to come; after, late.
        let lignes = evaluer(&c, Some(&p), &pieces, &Periode::toute(), d("2025-05-01"));
        assert!(lignes
            .iter()
            .any(|l| l.exigence == "preuve-sortie" && l.etat == EtatExigence::AVenir));
        let mut avec = pieces.clone();
        avec.push(piece("contrat-travail", "2025-07-01", false));
        let lignes = evaluer(&c, Some(&p), &avec, &Periode::toute(), d("2025-12-01"));
        assert!(lignes
            .iter()
            .any(|l| l.exigence == "preuve-sortie" && l.etat == EtatExigence::Tardif));
    }
}
