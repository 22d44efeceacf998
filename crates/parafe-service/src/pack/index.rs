//! The index of the pack (`index.pdf`, then `index-2.pdf`… past [`PARTICIPANTS_PAR_VOLUME`]
//! participants; template `index-pack`): the contents of the pack, then participant by
//! participant each piece with its file name (date and type) and SHA-256, and what is missing.
//! Its data is known before any piece is read, so its volumes are composed while pieces stream.
//! One line per piece: an index per participant, with a block per piece, cost more CPU than
//! reading the pieces (a thousand fixed costs of composition and sealing for 1,000 participants).

use super::plan::{Entree, Manque, Plan};
use super::DemandePack;
use crate::justificatif::etat::{Dossier, EtatExigence};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashSet;

fn jour(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A piece as an index lists it, `chemin` as the index names it.
fn piece(e: &Entree, chemin: &str) -> Value {
    let mut v = json!({ "genre": e.libelle, "sha256": e.sha256, "chemin": chemin });
    if let Some(d) = e.date {
        v["date"] = json!(jour(d));
    }
    v
}

/// A participant's piece as his part of the index lists it: its file name in his folder (its
/// date and type) and its hash, the least text to lay out for tens of thousands of pieces.
fn fichier(e: &Entree, dossier: &str) -> Value {
    let chemin = e
        .chemin
        .strip_prefix(dossier)
        .and_then(|c| c.strip_prefix('/'))
        .unwrap_or(&e.chemin);
    json!({ "chemin": chemin, "sha256": e.sha256 })
}

/// The header of the PLIE: from its documents' data when there is one (name, structure,
/// address), else its name alone.
fn plie(dossier: &Dossier, nom: &str) -> Value {
    match &dossier.plie_donnees {
        Some(v) if v.get("adresse").is_some_and(Value::is_object) => {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                // Only what the header needs: the schema refuses anything else.
                o.retain(|k, _| {
                    ["nom", "structure", "adresse", "telephone", "email"].contains(&k.as_str())
                });
            }
            v
        }
        _ => json!({
            "nom": nom,
            "structure": nom,
            "adresse": { "rue": "adresse non renseignée", "code_postal": "", "commune": "" },
        }),
    }
}

/// What every volume says in its header.
fn entete(
    demande: &DemandePack,
    dossier: &Dossier,
    nom_plie: &str,
    catalogue_version: &str,
    genere_le: DateTime<Utc>,
) -> Value {
    json!({
        "reference": demande.reference,
        "plie": plie(dossier, nom_plie),
        "operation": {
            "intitule": dossier.operation.intitule,
            "numero": dossier.operation.code,
            "programme": dossier.operation.programme,
        },
        "periode": { "debut": jour(demande.periode.du), "fin": jour(demande.periode.au) },
        "genere_le": genere_le.to_rfc3339(),
        "catalogue": catalogue_version,
    })
}

/// Participants listed by one volume of the index: a Typst document holds every page it lays out
/// until it is written, and volumes are composed while pieces stream, so the index of a large
/// opération is cut in volumes (about twenty pages for 25 pieces each, some 50 MB to lay out)
/// and the memory of one composition does not grow with the pack.
pub const PARTICIPANTS_PAR_VOLUME: usize = 50;

/// Volumes of the main index for `participants` (at least one).
pub fn volumes(participants: usize) -> usize {
    participants.div_ceil(PARTICIPANTS_PAR_VOLUME).max(1)
}

/// `index.pdf`, then `index-2.pdf`, `index-3.pdf`… (`volume` from 0).
pub fn nom_volume(volume: usize) -> String {
    if volume == 0 {
        "index.pdf".into()
    } else {
        format!("index-{}.pdf", volume + 1)
    }
}

/// Participants `premier` to `dernier` (from 1) of a volume.
fn tranche(volume: usize, participants: usize) -> (usize, usize) {
    let premier = volume * PARTICIPANTS_PAR_VOLUME;
    (
        premier + 1,
        (premier + PARTICIPANTS_PAR_VOLUME).min(participants),
    )
}

fn manque(m: &Manque) -> Value {
    let mut v = json!({
        "participant": m.qui,
        "exigence": m.libelle,
        "etat": if m.etat == EtatExigence::Manquant { "manquant" } else { "en retard" },
    });
    if let Some(p) = &m.precision {
        v["precision"] = json!(p);
    }
    if let Some(e) = m.echeance {
        v["echeance"] = json!(jour(e));
    }
    v
}

/// The data of volume `volume` (from 0) of `index-pack`: the first has the contents of the pack
/// and the opération's own pieces; each lists its participants, their pieces and what they miss.
pub fn donnees(
    demande: &DemandePack,
    dossier: &Dossier,
    plan: &Plan,
    nom_plie: &str,
    catalogue_version: &str,
    genere_le: DateTime<Utc>,
    volume: usize,
) -> Value {
    let n = plan.participants.len();
    let total = volumes(n);
    let (premier, dernier) = tranche(volume, n);
    let liste = plan.participants.get(premier - 1..dernier).unwrap_or(&[]);
    let participants: Vec<Value> = liste
        .iter()
        .map(|p| {
            let mut v = json!({
                "nom": p.nom,
                "prenom": p.prenom,
                "reference": p.reference,
                "identifiant": p.identifiant,
                "dossier": p.dossier,
                "pieces": p.pieces.iter().map(|&i| fichier(&plan.entrees[i], &p.dossier)).collect::<Vec<_>>(),
                "alertes": p.alertes,
            });
            if let Some(d) = &p.details {
                v["details"] = json!(d);
            }
            v
        })
        .collect();
    let refs: HashSet<&str> = liste.iter().map(|p| p.reference.as_str()).collect();
    let manquants: Vec<Value> = plan
        .manques
        .iter()
        .filter(|m| match &m.participant {
            None => volume == 0,
            Some(r) => refs.contains(r.as_str()),
        })
        .map(manque)
        .collect();
    let pieces_operation: Vec<Value> = if volume == 0 {
        plan.pieces_operation
            .iter()
            .map(|&i| piece(&plan.entrees[i], &plan.entrees[i].chemin))
            .collect()
    } else {
        Vec::new()
    };
    let suites: Vec<Value> = if volume == 0 {
        (1..total)
            .map(|v| {
                let (premier, dernier) = tranche(v, n);
                json!({ "fichier": nom_volume(v), "premier": premier, "dernier": dernier })
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut d = entete(demande, dossier, nom_plie, catalogue_version, genere_le);
    let suite = json!({
        "donnees_sensibles": demande.donnees_sensibles,
        "totaux": {
            "participants": n,
            "pieces": plan.entrees.len(),
            "manquants": plan.manques.iter().filter(|m| m.etat == EtatExigence::Manquant).count(),
            "tardifs": plan.manques.iter().filter(|m| m.etat == EtatExigence::Tardif).count(),
            "exclues": plan.exclues,
        },
        "volume": {
            "numero": volume + 1,
            "total": total,
            "premier": premier,
            "dernier": dernier,
            "taille": PARTICIPANTS_PAR_VOLUME,
        },
        "suites": suites,
        "pieces_operation": pieces_operation,
        "participants": participants,
        "manquants": manquants,
    });
    if let (Some(d), Some(suite)) = (d.as_object_mut(), suite.as_object()) {
        d.extend(suite.clone());
    }
    if let Some(p) = &demande.participant {
        d["participant"] = json!(p);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_de_l_index() {
        assert_eq!(volumes(0), 1);
        assert_eq!(volumes(50), 1);
        assert_eq!(volumes(51), 2);
        assert_eq!(nom_volume(0), "index.pdf");
        assert_eq!(nom_volume(2), "index-3.pdf");
        assert_eq!(tranche(0, 30), (1, 30));
        assert_eq!(tranche(19, 980), (951, 980));
        assert_eq!(tranche(0, 0), (1, 0));
    }
}
