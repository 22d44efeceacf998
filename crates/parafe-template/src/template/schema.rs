//! Template schemas: the one place where a document's data is declared (types, French labels,
//! required or not), read from `document-templates/<nom>.toml` and `_types.toml`.

use super::TemplateError;
use toml::{Table, Value};

/// A document's declared data.
#[derive(Debug, Clone)]
pub struct Schema {
    pub name: String,
    pub titre: String,
    pub description: String,
    pub champs: Vec<(String, Field)>,
}

/// One declared field.
#[derive(Debug, Clone)]
pub struct Field {
    pub libelle: String,
    pub requis: bool,
    pub kind: Kind,
    /// Length (texte), value (entier, nombre) or item count (liste).
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// A total the data declares and the validation checks against its lines (`somme =
    /// "jours.heures"`: the sum of `heures` over the list `jours` beside it), so that a signed
    /// document never shows a total that its lines contradict.
    pub somme: Option<Somme>,
}

/// Which list and which of its items' fields a declared total adds up.
#[derive(Debug, Clone)]
pub struct Somme {
    pub liste: String,
    pub champ: String,
}

/// What a field holds.
#[derive(Debug, Clone)]
pub enum Kind {
    Texte,
    Date,
    Heure,
    Horodatage,
    Email,
    Entier,
    /// A decimal number (hours worked: 7.5).
    Nombre,
    Booleen,
    /// Signature strokes: `[[[x, y], ...], ...]`, coordinates 0–1000.
    Trace,
    Choix(Vec<String>),
    Liste(Box<Field>),
    Objet(Vec<(String, Field)>),
}

impl Kind {
    /// How the expected value is named in error messages.
    pub fn expected(&self) -> String {
        match self {
            Kind::Texte => "texte".into(),
            Kind::Date => "date au format AAAA-MM-JJ".into(),
            Kind::Heure => "heure au format HH:MM".into(),
            Kind::Horodatage => "horodatage RFC 3339 (AAAA-MM-JJTHH:MM:SS+01:00)".into(),
            Kind::Email => "adresse e-mail".into(),
            Kind::Entier => "nombre entier".into(),
            Kind::Nombre => "nombre".into(),
            Kind::Booleen => "true ou false".into(),
            Kind::Trace => "tracé de signature (liste de traits de points [x, y])".into(),
            Kind::Choix(values) => format!("une valeur parmi {}", values.join(", ")),
            Kind::Liste(_) => "liste".into(),
            Kind::Objet(_) => "objet".into(),
        }
    }
}

/// Named types of `_types.toml`, kept as raw definitions and resolved where used.
pub struct Types(Table);

pub fn parse_types(source: &str) -> Result<Types, TemplateError> {
    source
        .parse::<Table>()
        .map(Types)
        .map_err(|e| bad("_types.toml", e.message()))
}

pub fn parse_schema(name: &str, source: &str, types: &Types) -> Result<Schema, TemplateError> {
    let file = format!("{name}.toml");
    let table: Table = source
        .parse()
        .map_err(|e: toml::de::Error| bad(&file, e.message()))?;
    let get = |key: &str| {
        table
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let champs = match table.get("champs") {
        Some(Value::Table(t)) => fields(t, types, &file, 0)?,
        _ => return Err(bad(&file, "la table [champs] est absente")),
    };
    Ok(Schema {
        name: name.to_owned(),
        titre: get("titre"),
        description: get("description"),
        champs,
    })
}

fn fields(
    table: &Table,
    types: &Types,
    file: &str,
    depth: usize,
) -> Result<Vec<(String, Field)>, TemplateError> {
    let champs: Vec<(String, Field)> = table
        .iter()
        .map(|(key, def)| Ok((key.clone(), field(key, def, types, file, depth)?)))
        .collect::<Result<_, TemplateError>>()?;
    // A total adds up a list of numbers beside it: checked here, once, so that validation
    // never meets a total it cannot compute.
    for (key, f) in &champs {
        let Some(somme) = &f.somme else { continue };
        let additionne = champs.iter().any(|(nom, liste)| {
            nom == &somme.liste
                && matches!(&liste.kind, Kind::Liste(element) if matches!(&element.kind,
                    Kind::Objet(sous) if sous.iter().any(|(n, c)| n == &somme.champ
                        && matches!(c.kind, Kind::Nombre | Kind::Entier))))
        });
        if !additionne {
            return Err(bad(
                file,
                &format!(
                    "{key} : « somme » nomme {}.{}, qui n'est pas une liste de nombres à côté",
                    somme.liste, somme.champ
                ),
            ));
        }
    }
    Ok(champs)
}

fn field(
    key: &str,
    def: &Value,
    types: &Types,
    file: &str,
    depth: usize,
) -> Result<Field, TemplateError> {
    if depth > 16 {
        return Err(bad(
            file,
            &format!("{key} : types imbriqués trop profondément (cycle ?)"),
        ));
    }
    let def = def.as_table().ok_or_else(|| {
        bad(
            file,
            &format!("{key} : définition attendue sous forme de table"),
        )
    })?;
    let type_name = def
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(file, &format!("{key} : « type » manquant")))?;
    let int = |k: &str| def.get(k).and_then(Value::as_integer);
    let mut field = match type_name {
        "texte" | "date" | "heure" | "horodatage" | "email" | "entier" | "nombre" | "booleen"
        | "trace" | "choix" | "liste" | "objet" => Field {
            libelle: String::new(),
            requis: true,
            kind: primitive(key, type_name, def, types, file, depth)?,
            min: None,
            max: None,
            somme: None,
        },
        named => {
            let named_def = types
                .0
                .get(named)
                .ok_or_else(|| bad(file, &format!("{key} : type inconnu « {named} »")))?;
            field(key, named_def, types, "_types.toml", depth + 1)?
        }
    };
    if let Some(libelle) = def.get("libelle").and_then(Value::as_str) {
        field.libelle = libelle.to_owned();
    }
    if field.libelle.is_empty() {
        field.libelle = key.replace('_', " ");
    }
    if let Some(requis) = def.get("requis").and_then(Value::as_bool) {
        field.requis = requis;
    }
    field.min = int("min").or(field.min);
    field.max = int("max").or(field.max);
    if let Some(somme) = def.get("somme") {
        let chemin = somme.as_str().and_then(|s| s.split_once('.'));
        field.somme = match (&field.kind, chemin) {
            (Kind::Nombre | Kind::Entier, Some((liste, champ))) => Some(Somme {
                liste: liste.to_owned(),
                champ: champ.to_owned(),
            }),
            _ => {
                return Err(bad(
                    file,
                    &format!(
                        "{key} : « somme » s'écrit \"liste.champ\" sur un champ nombre ou entier"
                    ),
                ))
            }
        };
    }
    Ok(field)
}

fn primitive(
    key: &str,
    type_name: &str,
    def: &Table,
    types: &Types,
    file: &str,
    depth: usize,
) -> Result<Kind, TemplateError> {
    Ok(match type_name {
        "texte" => Kind::Texte,
        "date" => Kind::Date,
        "heure" => Kind::Heure,
        "horodatage" => Kind::Horodatage,
        "email" => Kind::Email,
        "entier" => Kind::Entier,
        "nombre" => Kind::Nombre,
        "booleen" => Kind::Booleen,
        "trace" => Kind::Trace,
        "choix" => {
            let values = def
                .get("valeurs")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    bad(
                        file,
                        &format!("{key} : « valeurs » manquantes pour un choix"),
                    )
                })?;
            Kind::Choix(
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            )
        }
        "liste" => {
            let elements = def.get("elements").ok_or_else(|| {
                bad(
                    file,
                    &format!("{key} : « elements » manquant pour une liste"),
                )
            })?;
            Kind::Liste(Box::new(field(key, elements, types, file, depth + 1)?))
        }
        _ => match def.get("champs") {
            Some(Value::Table(t)) => Kind::Objet(fields(t, types, file, depth + 1)?),
            _ => {
                return Err(bad(
                    file,
                    &format!("{key} : « champs » manquant pour un objet"),
                ))
            }
        },
    })
}

fn bad(file: &str, message: &str) -> TemplateError {
    TemplateError::BadSchema {
        file: file.to_owned(),
        message: message.to_owned(),
    }
}
