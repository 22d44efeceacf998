//! What goes into a pack and under which path: the pieces of each participant followed during the
//! period (and those that satisfy a requirement checked for it, even if older: the contract of a
//! participant who entered the year before), the opération's own pieces, the missing-pieces
//! report. Paths are readable and ASCII-only, so that every unzip tool and `sha256sum` reads them.

use crate::justificatif::catalogue::{Catalogue, ChampParticipant};
use crate::justificatif::etat::{
    evaluer, Dossier, DossierParticipant, EtatExigence, Ligne, Periode, Piece, Source,
};
use crate::justificatif::Format;
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

/// One piece to copy from the evidence store into the pack.
#[derive(Debug, Clone)]
pub struct Entree {
    pub chemin: String,
    pub sha256: String,
    pub taille: Option<i64>,
    /// `document` (sealed by parafe) or `justificatif`.
    pub nature: &'static str,
    pub genre: String,
    pub libelle: String,
    pub participant: Option<String>,
    /// The participant's identifier in the parcours software (UP Viesion): the one a
    /// controller finds in the parcours extraction.
    pub identifiant: Option<String>,
    pub date: Option<NaiveDate>,
    pub seq: Option<i64>,
}

/// A participant as the index shows them.
#[derive(Debug, Clone)]
pub struct ParticipantPlan {
    pub reference: String,
    /// The parcours software's identifier, beside the pseudonym.
    pub identifiant: String,
    pub nom: String,
    pub prenom: String,
    pub details: Option<String>,
    /// `participants/NOM-Prenom-ref`
    pub dossier: String,
    /// Indexes into [`Plan::entrees`].
    pub pieces: Vec<usize>,
    pub alertes: Vec<String>,
}

/// A missing or late piece.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Manque {
    /// Pseudonymous reference (`None`: the opération).
    pub participant: Option<String>,
    /// The parcours software's identifier of the participant.
    pub identifiant: Option<String>,
    /// « NOM Prénom (identifiant, ref) » for the index (not in the manifest).
    #[serde(skip)]
    pub qui: String,
    pub exigence: String,
    pub libelle: String,
    pub precision: Option<String>,
    pub etat: EtatExigence,
    pub echeance: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub entrees: Vec<Entree>,
    pub participants: Vec<ParticipantPlan>,
    /// Indexes into `entrees` of the opération's own pieces (collective sheets included).
    pub pieces_operation: Vec<usize>,
    pub manques: Vec<Manque>,
    /// Sensitive pieces left out (not asked for).
    pub exclues: usize,
}

/// ASCII letters, digits and `-`: accents taken off, anything else a dash.
pub fn ascii(texte: &str) -> String {
    let mut out = String::with_capacity(texte.len());
    for c in texte.chars() {
        let s: &str = match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => "a",
            'À' | 'Â' | 'Ä' | 'Á' | 'Ã' | 'Å' => "A",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'É' | 'È' | 'Ê' | 'Ë' => "E",
            'î' | 'ï' | 'í' | 'ì' => "i",
            'Î' | 'Ï' | 'Í' | 'Ì' => "I",
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' | 'ø' => "o",
            'Ô' | 'Ö' | 'Ó' | 'Ò' | 'Õ' | 'Ø' => "O",
            'ù' | 'û' | 'ü' | 'ú' => "u",
            'Ù' | 'Û' | 'Ü' | 'Ú' => "U",
            'ç' => "c",
            'Ç' => "C",
            'ñ' => "n",
            'Ñ' => "N",
            'ÿ' | 'ý' => "y",
            'Ÿ' | 'Ý' => "Y",
            'œ' => "oe",
            'Œ' => "OE",
            'æ' => "ae",
            'Æ' => "AE",
            'ß' => "ss",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "-",
        };
        out.push_str(s);
    }
    let mut propre = String::with_capacity(out.len());
    for c in out.chars() {
        if c == '-' && (propre.is_empty() || propre.ends_with('-')) {
            continue;
        }
        propre.push(c);
    }
    while propre.ends_with('-') {
        propre.pop();
    }
    propre
}

/// `participants/BENALI-Samira-P-2025-0412`
pub fn dossier_participant(p: &DossierParticipant) -> String {
    let nom = ascii(&p.nom).to_ascii_uppercase();
    let prenom = ascii(&p.prenom);
    let reference = ascii(&p.reference);
    let nom = [nom, prenom, reference]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("participants/{nom}")
}

fn extension(piece: &Piece) -> &'static str {
    Format::par_mime(&piece.type_mime).map_or("bin", Format::extension)
}

/// `2025-03-04-emargement-individuel.pdf`
fn nom_de_fichier(piece: &Piece) -> String {
    let date = piece
        .date
        .or(piece.depose_le)
        .map_or("sans-date".into(), |d| d.format("%Y-%m-%d").to_string());
    format!("{date}-{}.{}", ascii(&piece.genre), extension(piece))
}

/// Paths already taken, case-insensitively (some unzip tools fold case).
#[derive(Default)]
struct Chemins(HashSet<String>);

impl Chemins {
    /// `dir/nom.ext`, or `dir/nom-2.ext`… when taken.
    fn reserver(&mut self, dir: &str, nom: &str) -> String {
        let (base, ext) = nom.rsplit_once('.').unwrap_or((nom, ""));
        let mut n = 1;
        loop {
            let candidat = match (n, ext.is_empty()) {
                (1, _) => format!("{dir}/{nom}"),
                (_, true) => format!("{dir}/{base}-{n}"),
                (_, false) => format!("{dir}/{base}-{n}.{ext}"),
            };
            if self.0.insert(candidat.to_ascii_lowercase()) {
                return candidat;
            }
            n += 1;
        }
    }
}

fn details(p: &DossierParticipant, catalogue: &Catalogue) -> Option<String> {
    let fr = |d: NaiveDate| d.format("%d/%m/%Y").to_string();
    let mut parts = Vec::new();
    for champ in &catalogue.pack.index_participant {
        match champ {
            ChampParticipant::DateEntree => {
                if let Some(d) = p.date_entree {
                    parts.push(format!("entrée le {}", fr(d)));
                }
            }
            ChampParticipant::DateSortie => {
                if let Some(d) = p.date_sortie {
                    parts.push(format!("sortie le {}", fr(d)));
                }
            }
            ChampParticipant::MotifSortie => {
                if let Some(m) = p.motif_sortie.as_ref().filter(|m| !m.is_empty()) {
                    parts.push(format!("motif : {m}"));
                }
            }
            ChampParticipant::Commune => {
                if !p.commune.is_empty() {
                    parts.push(format!("commune : {}", p.commune));
                }
            }
            ChampParticipant::DateNaissance => {
                if let Some(d) = &p.date_naissance {
                    parts.push(format!("né(e) le {d}"));
                }
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn manques(lignes: &[Ligne], participant: Option<&DossierParticipant>) -> Vec<Manque> {
    let qui = participant.map_or("Opération".into(), |p| {
        format!(
            "{} {} ({}, {})",
            p.nom.to_uppercase(),
            p.prenom,
            p.identifiant,
            p.reference
        )
    });
    lignes
        .iter()
        .filter(|l| l.etat.est_un_manque())
        .map(|l| Manque {
            participant: participant.map(|p| p.reference.clone()),
            identifiant: participant.map(|p| p.identifiant.clone()),
            qui: qui.clone(),
            exigence: l.exigence.clone(),
            libelle: l.libelle.clone(),
            precision: l.precision.clone(),
            etat: l.etat,
            echeance: l.echeance,
        })
        .collect()
}

/// Lays out the pack of a dossier for a period.
pub fn planifier(
    dossier: &Dossier,
    catalogue: &Catalogue,
    periode: &Periode,
    aujourdhui: NaiveDate,
    donnees_sensibles: bool,
) -> Plan {
    let mut plan = Plan::default();
    let mut chemins = Chemins::default();
    // A collective sheet is written once, wherever it is first met.
    let mut collectifs: HashMap<Source, usize> = HashMap::new();

    let mut ajouter = |plan: &mut Plan,
                       chemins: &mut Chemins,
                       piece: &Piece,
                       dir: &str,
                       participant: Option<&DossierParticipant>|
     -> Option<usize> {
        let sha256 = piece.sha256.clone().filter(|_| piece.disponible)?;
        if !donnees_sensibles && catalogue.est_sensible(&piece.genre) {
            plan.exclues += 1;
            return None;
        }
        if piece.collectif {
            if let Some(&i) = collectifs.get(&piece.source) {
                return Some(i);
            }
        }
        let (dir, participant) = if piece.collectif {
            ("operation/emargements-collectifs", None)
        } else {
            (dir, participant)
        };
        let i = plan.entrees.len();
        plan.entrees.push(Entree {
            chemin: chemins.reserver(dir, &nom_de_fichier(piece)),
            sha256,
            taille: piece.taille,
            nature: match piece.source {
                Source::Document { .. } => "document",
                Source::Justificatif { .. } => "justificatif",
            },
            genre: piece.genre.clone(),
            libelle: piece.libelle.clone(),
            participant: participant.map(|p| p.reference.clone()),
            identifiant: participant.map(|p| p.identifiant.clone()),
            date: piece.date.or(piece.depose_le),
            seq: piece.seq,
        });
        if piece.collectif {
            collectifs.insert(piece.source.clone(), i);
        }
        Some(i)
    };

    let lignes = evaluer(catalogue, None, &dossier.pieces, periode, aujourdhui);
    let requis: HashSet<usize> = lignes.iter().flat_map(|l| l.pieces.clone()).collect();
    for (i, piece) in dossier.pieces.iter().enumerate() {
        let dans = piece
            .date
            .or(piece.depose_le)
            .is_some_and(|d| periode.contient(d));
        if dans || requis.contains(&i) {
            if let Some(e) = ajouter(&mut plan, &mut chemins, piece, "operation", None) {
                plan.pieces_operation.push(e);
            }
        }
    }
    plan.manques.extend(manques(&lignes, None));

    for p in dossier
        .participants
        .iter()
        .filter(|p| p.suivi_pendant(periode))
    {
        let lignes = evaluer(catalogue, Some(p), &p.pieces, periode, aujourdhui);
        let requis: HashSet<usize> = lignes.iter().flat_map(|l| l.pieces.clone()).collect();
        let dir = dossier_participant(p);
        let mut pieces = Vec::new();
        for (i, piece) in p.pieces.iter().enumerate() {
            let dans = piece
                .date
                .or(piece.depose_le)
                .is_some_and(|d| periode.contient(d));
            if dans || requis.contains(&i) {
                let ajout = ajouter(&mut plan, &mut chemins, piece, &dir, Some(p));
                if let Some(e) = ajout {
                    pieces.push(e);
                }
            }
        }
        let manque = manques(&lignes, Some(p));
        let alertes = manque
            .iter()
            .map(|m| {
                let mut a = format!("{} : {}", m.libelle, m.etat.libelle());
                if let Some(p) = &m.precision {
                    a = format!("{} ({p}) : {}", m.libelle, m.etat.libelle());
                }
                if let Some(e) = m.echeance {
                    a.push_str(&format!(", échéance le {}", e.format("%d/%m/%Y")));
                }
                a
            })
            .collect();
        plan.manques.extend(manque);
        plan.participants.push(ParticipantPlan {
            reference: p.reference.clone(),
            identifiant: p.identifiant.clone(),
            nom: p.nom.clone(),
            prenom: p.prenom.clone(),
            details: details(p, catalogue),
            dossier: dir,
            pieces,
            alertes,
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chemins_lisibles_et_sans_collision() {
        assert_eq!(ascii("Benali-Ép. Zoë  (né)"), "Benali-Ep-Zoe-ne");
        assert_eq!(ascii("émargement-individuel"), "emargement-individuel");
        let mut c = Chemins::default();
        let a = c.reserver("participants/X", "2025-03-04-emargement-individuel.pdf");
        let b = c.reserver("participants/X", "2025-03-04-emargement-individuel.pdf");
        let d = c.reserver("participants/x", "2025-03-04-EMARGEMENT-individuel.pdf");
        assert_eq!(a, "participants/X/2025-03-04-emargement-individuel.pdf");
        assert_eq!(b, "participants/X/2025-03-04-emargement-individuel-2.pdf");
        assert_eq!(d, "participants/x/2025-03-04-EMARGEMENT-individuel-3.pdf");
    }
}
