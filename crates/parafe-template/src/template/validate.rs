//! Checks a document's JSON data against its schema and names every faulty field, so that the
//! person filling the data fixes everything in one pass.

use super::schema::{Field, Kind, Schema, Somme};
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat};
use serde_json::{Map, Value};
use std::fmt;

/// One faulty field: its path in the data (`participant.adresse.commune`, `participants[3].nom`)
/// and what is wrong, in French.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub chemin: String,
    pub libelle: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) : {}", self.chemin, self.libelle, self.message)
    }
}

/// Every error in `data`, or none.
/// Data checked against its template's schema: the only input rendering accepts, so that data
/// is checked once, and always.
#[derive(Debug, Clone, Copy)]
pub struct Validated<'a> {
    schema: &'a Schema,
    data: &'a Value,
}

impl Validated<'_> {
    pub fn template(&self) -> &str {
        &self.schema.name
    }
    pub fn data(&self) -> &Value {
        self.data
    }

    /// The data as the template reads it: every `horodatage` at Paris's offset, whatever
    /// offset it came with (stored instants are UTC). The templates print a time as written,
    /// so that a person reads the time of Paris on every document.
    pub fn pour_le_modele(&self) -> Value {
        let mut data = self.data.clone();
        if let Value::Object(object) = &mut data {
            heures_de_paris(&self.schema.champs, object);
        }
        data
    }
}

fn heures_de_paris(champs: &[(String, Field)], object: &mut Map<String, Value>) {
    for (key, field) in champs {
        if let Some(value) = object.get_mut(key) {
            heure_de_paris(&field.kind, value);
        }
    }
}

fn heure_de_paris(kind: &Kind, value: &mut Value) {
    match (kind, value) {
        (Kind::Horodatage, Value::String(s)) => {
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                *s = t
                    .with_timezone(&chrono_tz::Europe::Paris)
                    .to_rfc3339_opts(SecondsFormat::Secs, false);
            }
        }
        (Kind::Liste(item), Value::Array(items)) => {
            for v in items {
                heure_de_paris(&item.kind, v);
            }
        }
        (Kind::Objet(champs), Value::Object(object)) => heures_de_paris(champs, object),
        _ => {}
    }
}

pub fn validate<'a>(schema: &'a Schema, data: &'a Value) -> Result<Validated<'a>, Vec<FieldError>> {
    let mut errors = Vec::new();
    match data.as_object() {
        Some(object) => check_object(&schema.champs, object, "", &mut errors),
        None => errors.push(FieldError {
            chemin: "(racine)".into(),
            libelle: schema.titre.clone(),
            message: "un objet JSON { … } est attendu".into(),
        }),
    }
    if errors.is_empty() {
        Ok(Validated { schema, data })
    } else {
        Err(errors)
    }
}

fn check_object(
    champs: &[(String, Field)],
    object: &Map<String, Value>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) {
    let path = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    for (key, field) in champs {
        match object.get(key) {
            None | Some(Value::Null) if field.requis => errors.push(FieldError {
                chemin: path(key),
                libelle: field.libelle.clone(),
                message: format!(
                    "champ obligatoire manquant ({} attendu)",
                    field.kind.expected()
                ),
            }),
            None | Some(Value::Null) => {}
            Some(value) => check(field, value, &path(key), errors),
        }
    }
    for (key, field) in champs {
        if let (Some(somme), Some(declare)) =
            (&field.somme, object.get(key).and_then(Value::as_f64))
        {
            verifier_somme(somme, declare, object, &path(key), field, errors);
        }
    }
    for key in object
        .keys()
        .filter(|k| !champs.iter().any(|(c, _)| c == *k))
    {
        errors.push(FieldError {
            chemin: path(key),
            libelle: "champ inconnu".into(),
            message: format!(
                "ce champ n'existe pas dans le modèle ; champs attendus ici : {}",
                champs
                    .iter()
                    .map(|(c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
}

fn check(field: &Field, value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let mut fail = |message: String| {
        errors.push(FieldError {
            chemin: path.to_owned(),
            libelle: field.libelle.clone(),
            message,
        });
    };
    let shown = || match value {
        Value::String(s) => format!("« {s} »"),
        other => other.to_string(),
    };
    let expected = field.kind.expected();
    match (&field.kind, value) {
        (Kind::Texte, Value::String(s)) => {
            let len = s.chars().count() as i64;
            if field.requis && s.trim().is_empty() {
                fail("ne doit pas être vide".into());
            } else if let Some(min) = field.min.filter(|m| len < *m) {
                fail(format!(
                    "trop court ({len} caractères, au moins {min} attendus)"
                ));
            } else if let Some(max) = field.max.filter(|m| len > *m) {
                fail(format!(
                    "trop long ({len} caractères, au plus {max} attendus)"
                ));
            }
        }
        (Kind::Date, Value::String(s)) if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err() => {
            fail(format!(
                "{} n'est pas une date valide ({expected})",
                shown()
            ))
        }
        (Kind::Heure, Value::String(s)) if NaiveTime::parse_from_str(s, "%H:%M").is_err() => fail(
            format!("{} n'est pas une heure valide ({expected})", shown()),
        ),
        (Kind::Horodatage, Value::String(s)) if DateTime::parse_from_rfc3339(s).is_err() => fail(
            format!("{} n'est pas un horodatage valide ({expected})", shown()),
        ),
        (Kind::Email, Value::String(s)) if !is_email(s) => {
            fail(format!("{} n'est pas une adresse e-mail valide", shown()))
        }
        (Kind::Date | Kind::Heure | Kind::Horodatage | Kind::Email, Value::String(_)) => {}
        (Kind::Entier, Value::Number(n)) => match n.as_i64() {
            None => fail(format!("{} n'est pas un nombre entier", shown())),
            Some(v) if field.min.is_some_and(|m| v < m) => fail(format!(
                "{v} est inférieur au minimum {}",
                field.min.unwrap_or_default()
            )),
            Some(v) if field.max.is_some_and(|m| v > m) => fail(format!(
                "{v} dépasse le maximum {}",
                field.max.unwrap_or_default()
            )),
            Some(_) => {}
        },
        (Kind::Nombre, Value::Number(n)) => match n.as_f64() {
            Some(v) if field.min.is_some_and(|m| v < m as f64) => fail(format!(
                "{} est inférieur au minimum {}",
                nombre_fr(v),
                field.min.unwrap_or_default()
            )),
            Some(v) if field.max.is_some_and(|m| v > m as f64) => fail(format!(
                "{} dépasse le maximum {}",
                nombre_fr(v),
                field.max.unwrap_or_default()
            )),
            Some(_) => {}
            None => fail(format!("{} n'est pas un nombre", shown())),
        },
        (Kind::Booleen, Value::Bool(_)) => {}
        (Kind::Choix(values), Value::String(s)) if !values.contains(s) => fail(format!(
            "{} n'est pas une valeur permise ({expected})",
            shown()
        )),
        (Kind::Choix(_), Value::String(_)) => {}
        (Kind::Trace, value) if !is_trace(value) => fail(format!(
            "tracé invalide ({expected}, coordonnées de 0 à 1000)"
        )),
        (Kind::Trace, _) => {}
        (Kind::Liste(item), Value::Array(items)) => {
            let n = items.len() as i64;
            if let Some(min) = field.min.filter(|m| n < *m) {
                fail(format!("{n} élément(s), au moins {min} attendu(s)"));
            } else if let Some(max) = field.max.filter(|m| n > *m) {
                fail(format!("{n} élément(s), au plus {max} attendu(s)"));
            }
            for (i, v) in items.iter().enumerate() {
                check(item, v, &format!("{path}[{}]", i + 1), errors);
            }
        }
        (Kind::Objet(champs), Value::Object(object)) => check_object(champs, object, path, errors),
        _ => fail(format!("{} attendu, reçu {}", expected, json_kind(value))),
    }
}

/// A declared total against the sum of its lines. Lines whose value is not a number are
/// already named by their own error: the total is then not compared.
fn verifier_somme(
    somme: &Somme,
    declare: f64,
    object: &Map<String, Value>,
    chemin: &str,
    field: &Field,
    errors: &mut Vec<FieldError>,
) {
    let valeurs: Option<Vec<f64>> = object
        .get(&somme.liste)
        .and_then(Value::as_array)
        .map(|lignes| {
            lignes
                .iter()
                .map(|l| l.get(&somme.champ).map_or(Some(0.0), Value::as_f64))
                .collect()
        })
        .unwrap_or(Some(Vec::new()));
    let Some(valeurs) = valeurs else { return };
    let calcule: f64 = valeurs.iter().sum();
    // Hundredths: 7.33 + 7.33 + 7.34 is 22 whatever the binary rounding.
    if (calcule - declare).abs() >= 0.005 {
        errors.push(FieldError {
            chemin: chemin.to_owned(),
            libelle: field.libelle.clone(),
            message: format!(
                "le total déclaré {} ne concorde pas avec la somme des lignes de « {} » ({})",
                nombre_fr(declare),
                somme.liste,
                nombre_fr(calcule)
            ),
        });
    }
}

/// A number as a French reader writes it: `7,5`, `151`.
fn nombre_fr(v: f64) -> String {
    let arrondi = (v * 100.0).round() / 100.0;
    arrondi.to_string().replace('.', ",")
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "un booléen",
        Value::Number(_) => "un nombre",
        Value::String(_) => "un texte",
        Value::Array(_) => "une liste",
        Value::Object(_) => "un objet",
    }
}

/// A deliberately plain check: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !s.chars().any(char::is_whitespace)
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

fn is_trace(value: &Value) -> bool {
    let in_range = |v: &Value| v.as_i64().is_some_and(|c| (0..=1000).contains(&c));
    value.as_array().is_some_and(|strokes| {
        strokes.iter().all(|stroke| {
            stroke.as_array().is_some_and(|points| {
                points.iter().all(|p| {
                    p.as_array()
                        .is_some_and(|xy| xy.len() == 2 && xy.iter().all(in_range))
                })
            })
        })
    })
}
