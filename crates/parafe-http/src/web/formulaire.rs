//! Forms generated from a template's declared fields (`template::Schema`), and the way back from
//! the submitted form to the template's JSON data. Inputs are named by their path in the data
//! (`commission.date`, `participants[2].nom`), which is also how the validation names a faulty
//! field: server errors land beside their input. Each input carries its type and bounds in
//! `data-*` attributes, read by `formulaire.js` for live checks with French messages; the
//! server's `template::validate` stays the authority.

use maud::{html, Markup};
use parafe_template::template::{Field, FieldError, Kind, Schema};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

/// Fields the service fills from the participant's file and the PLIE: not asked in the form,
/// unless the file lacks them (the creation then names them, and the form shows them).
pub const REPRIS_DU_DOSSIER: [&str; 4] = ["plie", "operation", "participant", "referent"];

/// Fields never typed by a person: the document's reference, the evidence, the closing time
/// (at the top of the data), signatures (anywhere), and the PLIE's logo (an image deposited in
/// the settings).
fn systeme(cle: &str, chemin: &str) -> bool {
    cle == "signature"
        || chemin == "plie.logo"
        || (cle == chemin && matches!(cle, "reference" | "preuve" | "cloture"))
}

/// Words that call for several lines of text rather than one.
fn long(cle: &str, f: &Field) -> bool {
    f.max.is_some_and(|m| m > 150)
        || [
            "parcours",
            "contenu",
            "observations",
            "objectifs",
            "motif",
            "suite",
            "diagnostic",
            "plan",
            "commentaire",
            "bilan",
            "synthese",
            "actions",
            "freins",
        ]
        .iter()
        .any(|m| cle.contains(m))
}

/// Values typed so far, by input name, and errors by path (to show a form again).
#[derive(Default)]
pub struct EtatFormulaire {
    pub valeurs: BTreeMap<String, String>,
    pub erreurs: BTreeMap<String, String>,
    /// Fields of [`REPRIS_DU_DOSSIER`] to ask after all.
    pub a_completer: Vec<String>,
}

impl EtatFormulaire {
    pub fn depuis(saisie: &[(String, String)]) -> EtatFormulaire {
        EtatFormulaire {
            valeurs: saisie.iter().cloned().collect(),
            ..EtatFormulaire::default()
        }
    }

    /// Files validation errors under their input (a list's items under the list itself).
    pub fn ajouter_erreurs(&mut self, erreurs: &[FieldError]) {
        for e in erreurs {
            let chemin = e.chemin.clone();
            let racine = chemin
                .split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_owned();
            if REPRIS_DU_DOSSIER.contains(&racine.as_str()) && !self.a_completer.contains(&racine) {
                self.a_completer.push(racine);
            }
            self.erreurs
                .entry(chemin)
                .and_modify(|m| {
                    m.push_str(" ; ");
                    m.push_str(&e.message);
                })
                .or_insert_with(|| e.message.clone());
        }
    }

    fn erreur(&self, chemin: &str) -> Option<&str> {
        self.erreurs.get(chemin).map(String::as_str).or_else(|| {
            // An item of a list shown as one text area: the error of any item.
            self.erreurs
                .iter()
                .find(|(k, _)| k.starts_with(&format!("{chemin}[")) && !k.contains("]."))
                .map(|(_, v)| v.as_str())
        })
    }
}

/// The inputs of every field a person types, for a template.
pub fn champs(schema: &Schema, etat: &EtatFormulaire) -> Markup {
    html! {
        @for (cle, f) in &schema.champs {
            @if !systeme(cle, cle) && (!REPRIS_DU_DOSSIER.contains(&cle.as_str()) || etat.a_completer.contains(cle)) {
                (champ(cle, cle, f, etat))
            }
        }
    }
}

/// The inputs of one field of a template (`plie`: the PLIE's card on the settings screen).
pub fn champ_seul(schema: &Schema, cle: &str, etat: &EtatFormulaire) -> Markup {
    match schema.champs.iter().find(|(k, _)| k == cle) {
        Some((_, f)) => champ(cle, cle, f, etat),
        None => html! {},
    }
}

fn id_de(chemin: &str) -> String {
    format!(
        "c-{}",
        chemin
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    )
}

fn attributs_type(f: &Field) -> &'static str {
    match f.kind {
        Kind::Texte => "texte",
        Kind::Date => "date",
        Kind::Heure => "heure",
        Kind::Horodatage => "horodatage",
        Kind::Email => "email",
        Kind::Entier => "entier",
        Kind::Nombre => "nombre",
        Kind::Booleen => "booleen",
        Kind::Choix(_) => "choix",
        Kind::Liste(_) => "liste",
        Kind::Trace | Kind::Objet(_) => "",
    }
}

fn champ(cle: &str, chemin: &str, f: &Field, etat: &EtatFormulaire) -> Markup {
    if systeme(cle, chemin) || matches!(f.kind, Kind::Trace) {
        return html! {};
    }
    let id = id_de(chemin);
    let erreur = etat.erreur(chemin);
    let id_erreur = format!("{id}-erreur");
    let valeur = etat.valeurs.get(chemin).cloned().unwrap_or_default();
    let etiquette = html! {
        label for=(id) {
            (f.libelle)
            @if !f.requis { span.facultatif { " (facultatif)" } }
        }
    };
    let message = html! {
        p.message-champ id=(id_erreur) aria-live="polite" { @if let Some(e) = erreur { (e) } }
    };
    let commun = |h: Markup| {
        html! {
            div.champ data-chemin=(chemin) { (etiquette) (h) (message) }
        }
    };
    let invalide = erreur.map(|_| "true");
    match &f.kind {
        Kind::Objet(sous) => html! {
            fieldset.groupe data-facultatif=[(!f.requis).then_some("1")] {
                legend { (f.libelle) @if !f.requis { span.facultatif { " (facultatif)" } } }
                @if let Some(e) = erreur { p.message-champ { (e) } }
                @for (k, sf) in sous {
                    (champ(k, &format!("{chemin}.{k}"), sf, etat))
                }
            }
        },
        Kind::Liste(element) if matches!(element.kind, Kind::Objet(_)) => {
            let Kind::Objet(sous) = &element.kind else {
                return html! {};
            };
            let presents = indices(etat, chemin);
            let n = presents.max(f.min.unwrap_or(1).max(1) as usize);
            html! {
                fieldset.groupe.liste data-chemin=(chemin) data-max=[f.max] {
                    legend { (f.libelle) }
                    @if let Some(e) = erreur { p.message-champ { (e) } }
                    @for i in 0..n {
                        fieldset.element data-index=(i) {
                            legend { (f.libelle) " — ligne " (i + 1) }
                            @for (k, sf) in sous {
                                (champ(k, &format!("{chemin}[{i}].{k}"), sf, etat))
                            }
                        }
                    }
                    button.secondaire.ajouter-element type="button" { "Ajouter une ligne" }
                }
            }
        }
        Kind::Liste(element) => commun(html! {
            p.aide id=(format!("{id}-aide")) { "Une ligne par élément" @if let Some(m) = f.min { " (au moins " (m) ")" } "." }
            textarea id=(id) name=(chemin) rows="4" data-type="liste" data-element=(attributs_type(element))
                data-requis=[f.requis.then_some("1")] data-min=[f.min] data-max=[f.max]
                aria-invalid=[invalide] aria-describedby=(format!("{id}-aide {id_erreur}")) { (valeur) }
        }),
        Kind::Choix(valeurs) => commun(html! {
            select id=(id) name=(chemin) data-type="choix" data-requis=[f.requis.then_some("1")]
                aria-invalid=[invalide] aria-describedby=(id_erreur) {
                option value="" { "— choisir —" }
                @for v in valeurs {
                    option value=(v) selected[*v == valeur] { (v) }
                }
            }
        }),
        Kind::Booleen => html! {
            div.champ.case data-chemin=(chemin) {
                input id=(id) type="checkbox" name=(chemin) value="true" checked[valeur == "true"] data-type="booleen";
                (etiquette)
                (message)
            }
        },
        _ => {
            let (genre, mode) = match f.kind {
                Kind::Date => ("date", None),
                Kind::Heure => ("time", None),
                Kind::Horodatage => ("datetime-local", None),
                Kind::Email => ("email", Some("email")),
                Kind::Entier => ("number", Some("numeric")),
                // A text field: a French keyboard types « 7,5 ».
                Kind::Nombre => ("text", Some("decimal")),
                _ => ("text", None),
            };
            let texte_long = matches!(f.kind, Kind::Texte) && long(cle, f);
            commun(html! {
                @if texte_long {
                    textarea id=(id) name=(chemin) rows="4" data-type="texte"
                        data-requis=[f.requis.then_some("1")] data-min=[f.min] data-max=[f.max]
                        aria-invalid=[invalide] aria-describedby=(id_erreur) { (valeur) }
                } @else {
                    input id=(id) type=(genre) name=(chemin) value=(valeur) inputmode=[mode]
                        data-type=(attributs_type(f)) data-requis=[f.requis.then_some("1")]
                        data-min=[f.min] data-max=[f.max]
                        aria-invalid=[invalide] aria-describedby=(id_erreur);
                }
            })
        }
    }
}

/// How many items of a list of objects the submitted form holds.
fn indices(etat: &EtatFormulaire, chemin: &str) -> usize {
    let prefixe = format!("{chemin}[");
    etat.valeurs
        .keys()
        .filter_map(|k| {
            k.strip_prefix(&prefixe)?
                .split(']')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// The template's data from a submitted form: empty inputs are left out (so that what the
/// service fills from the file stays), numbers and booleans typed, lists split by line.
pub fn donnees(schema: &Schema, saisie: &[(String, String)]) -> Value {
    let etat = EtatFormulaire::depuis(saisie);
    let mut out = Map::new();
    for (cle, f) in &schema.champs {
        if systeme(cle, cle) {
            continue;
        }
        if let Some(v) = valeur(cle, f, &etat) {
            out.insert(cle.clone(), v);
        }
    }
    Value::Object(out)
}

/// The value of one field of a template from a submitted form, as [`donnees`] reads it.
pub fn donnee(schema: &Schema, cle: &str, saisie: &[(String, String)]) -> Option<Value> {
    let (_, f) = schema.champs.iter().find(|(k, _)| k == cle)?;
    valeur(cle, f, &EtatFormulaire::depuis(saisie))
}

fn valeur(chemin: &str, f: &Field, etat: &EtatFormulaire) -> Option<Value> {
    let brut = etat
        .valeurs
        .get(chemin)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty());
    match &f.kind {
        Kind::Trace => None,
        Kind::Objet(sous) => {
            let m: Map<String, Value> = sous
                .iter()
                .filter(|(k, _)| *k != "signature")
                .filter_map(|(k, sf)| {
                    Some((k.clone(), valeur(&format!("{chemin}.{k}"), sf, etat)?))
                })
                .collect();
            (!m.is_empty()).then_some(Value::Object(m))
        }
        Kind::Liste(element) if matches!(element.kind, Kind::Objet(_)) => {
            let items: Vec<Value> = (0..indices(etat, chemin))
                .filter_map(|i| valeur(&format!("{chemin}[{i}]"), element, etat))
                .collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Kind::Liste(element) => {
            let items: Vec<Value> = brut?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| scalaire(&element.kind, l))
                .collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Kind::Booleen => Some(Value::Bool(brut == Some("true"))),
        k => brut.map(|s| scalaire(k, s)),
    }
}

fn scalaire(kind: &Kind, s: &str) -> Value {
    match kind {
        Kind::Entier => s
            .parse::<i64>()
            .map(|n| Value::Number(Number::from(n)))
            .unwrap_or_else(|_| Value::String(s.to_owned())),
        Kind::Nombre => s
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(s.to_owned()), Value::Number),
        Kind::Horodatage => Value::String(horodatage(s)),
        _ => Value::String(s.to_owned()),
    }
}

/// A `datetime-local` value (`2025-05-13T09:30`, Paris time) as RFC 3339 with its offset.
fn horodatage(s: &str) -> String {
    use chrono::TimeZone;
    let lu = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"));
    match lu
        .ok()
        .and_then(|n| chrono_tz::Europe::Paris.from_local_datetime(&n).earliest())
    {
        Some(t) => t.to_rfc3339(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parafe_template::template::Catalogue;

    fn saisie(paires: &[(&str, &str)]) -> Vec<(String, String)> {
        paires
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn le_formulaire_du_contrat_redonne_ses_donnees() {
        let schema = Catalogue::embedded()
            .unwrap()
            .get("contrat-engagement")
            .unwrap();
        let d = donnees(
            schema,
            &saisie(&[
                ("date_entree", "2025-03-03"),
                ("commission.date", "2025-02-25"),
                ("commission.reference", "CS-2025-02"),
                ("parcours", "  Retour à l'emploi  "),
                (
                    "engagements_participant",
                    "Venir aux rendez-vous\n\nChercher\n",
                ),
                ("lieu_signature", ""),
                ("csrf", "x"),
            ]),
        );
        assert_eq!(d["commission"]["reference"], "CS-2025-02");
        assert_eq!(d["parcours"], "Retour à l'emploi");
        assert_eq!(d["engagements_participant"].as_array().unwrap().len(), 2);
        assert!(d.get("lieu_signature").is_none());
        assert!(d.get("csrf").is_none());
        let html = champs(schema, &EtatFormulaire::default()).into_string();
        assert!(html.contains("name=\"commission.date\""));
        assert!(html.contains("type=\"date\""));
        assert!(!html.contains("name=\"plie.nom\""));
        assert!(!html.contains("name=\"reference\""));
    }

    #[test]
    fn les_erreurs_du_service_retrouvent_leur_champ() {
        // What the service's validation carries (`Erreur::Champs`), field by field.
        let schema = Catalogue::embedded()
            .unwrap()
            .get("contrat-engagement")
            .unwrap();
        let e = parafe_template::template::validate(
            schema,
            &serde_json::json!({ "commission": { "date": "25/02/2025" } }),
        )
        .unwrap_err();
        assert!(e.iter().any(|e| e.chemin == "commission.date"), "{e:?}");
        let mut etat = EtatFormulaire::default();
        etat.ajouter_erreurs(&e);
        assert!(
            etat.a_completer.contains(&"operation".to_owned()),
            "{:?}",
            etat.a_completer
        );
        assert!(etat.erreurs.contains_key("commission.date"));
    }
}
