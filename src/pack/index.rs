//! The index of the pack (`index.pdf`, template `index-pack`): contents per participant with
//! each piece's type, date, SHA-256 and path, the missing-pieces report, the FSE mention. Its
//! data is known before any piece is read, so it is composed while the pieces stream.

use super::plan::{Entree, Plan};
use super::Demande;
use crate::justificatif::etat::{Dossier, Etat};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

fn jour(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn piece(e: &Entree) -> Value {
    let mut v = json!({ "genre": e.libelle, "sha256": e.sha256, "chemin": e.chemin });
    if let Some(d) = e.date {
        v["date"] = json!(d.format("%Y-%m-%d").to_string());
    }
    v
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

/// What both indexes say in their header.
fn entete(
    demande: &Demande,
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
        "genere_le": genere_le
            .with_timezone(&chrono_tz::Europe::Paris)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        "catalogue": catalogue_version,
    })
}

/// The data of `index-pack-participant`: the participant's pieces and checklist.
pub fn donnees_participant(
    demande: &Demande,
    dossier: &Dossier,
    plan: &Plan,
    p: usize,
    nom_plie: &str,
    catalogue_version: &str,
    genere_le: DateTime<Utc>,
) -> Value {
    let pa = &plan.participants[p];
    let mut d = entete(demande, dossier, nom_plie, catalogue_version, genere_le);
    let mut participant = json!({
        "nom": pa.nom,
        "prenom": pa.prenom,
        "reference": pa.reference,
        "alertes": pa.alertes,
    });
    if let Some(x) = &pa.details {
        participant["details"] = json!(x);
    }
    d["participant"] = participant;
    d["dossier"] = json!(pa.dossier);
    d["pieces"] = json!(pa
        .pieces
        .iter()
        .map(|&i| piece(&plan.entrees[i]))
        .collect::<Vec<_>>());
    d["exigences"] = json!(pa
        .lignes
        .iter()
        .map(|l| {
            let mut v = json!({ "libelle": l.libelle, "etat": l.etat });
            if let Some(p) = &l.precision {
                v["precision"] = json!(p);
            }
            if let Some(e) = l.echeance {
                v["echeance"] = json!(jour(e));
            }
            v
        })
        .collect::<Vec<_>>());
    d
}

/// The data of `index-pack`.
pub fn donnees(
    demande: &Demande,
    dossier: &Dossier,
    plan: &Plan,
    nom_plie: &str,
    catalogue_version: &str,
    genere_le: DateTime<Utc>,
) -> Value {
    let participants: Vec<Value> = plan
        .participants
        .iter()
        .map(|p| {
            let mut v = json!({
                "nom": p.nom,
                "prenom": p.prenom,
                "reference": p.reference,
                "dossier": p.dossier,
                "pieces": p.pieces.len(),
                "alertes": p.alertes,
            });
            if let Some(d) = &p.details {
                v["details"] = json!(d);
            }
            v
        })
        .collect();
    let manquants: Vec<Value> = plan
        .manques
        .iter()
        .map(|m| {
            let mut v = json!({
                "participant": m.qui,
                "exigence": m.libelle,
                "etat": if m.etat == Etat::Manquant { "manquant" } else { "en retard" },
            });
            if let Some(p) = &m.precision {
                v["precision"] = json!(p);
            }
            if let Some(e) = m.echeance {
                v["echeance"] = json!(e.format("%Y-%m-%d").to_string());
            }
            v
        })
        .collect();
    let mut d = entete(demande, dossier, nom_plie, catalogue_version, genere_le);
    let suite = json!({
        "donnees_sensibles": demande.donnees_sensibles,
        "totaux": {
            "participants": plan.participants.len(),
            "pieces": plan.entrees.len(),
            "manquants": plan.manques.iter().filter(|m| m.etat == Etat::Manquant).count(),
            "tardifs": plan.manques.iter().filter(|m| m.etat == Etat::Tardif).count(),
            "exclues": plan.exclues,
        },
        "pieces_operation": plan.pieces_operation.iter().map(|&i| piece(&plan.entrees[i])).collect::<Vec<_>>(),
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
