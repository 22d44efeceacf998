//! What changed in a PDF after a signature, and whether PAdES permits it: only the additions
//! of long-term validation (DSS) and of further signatures or document timestamps are allowed.
//! Anything else, such as new page content, means the document shown is not the one signed.

use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::{BTreeMap, BTreeSet};

/// One difference between the signed revision and the file as it is now.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Permitted(String),
    Forbidden(String),
}

fn dict_type(object: &Object) -> Option<&[u8]> {
    let dict = match object {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &s.dict,
        _ => return None,
    };
    dict.get(b"Type").and_then(Object::as_name).ok()
}

fn dict_of(object: &Object) -> Option<&Dictionary> {
    match object {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

fn is_signature_field(object: &Object) -> bool {
    dict_of(object).is_some_and(|d| {
        d.get(b"FT")
            .and_then(Object::as_name)
            .is_ok_and(|n| n == b"Sig")
    })
}

/// The keys whose values differ between two dictionaries.
fn changed_keys(a: &Dictionary, b: &Dictionary) -> BTreeSet<Vec<u8>> {
    let keys: BTreeSet<Vec<u8>> = a.iter().chain(b.iter()).map(|(k, _)| k.clone()).collect();
    keys.into_iter()
        .filter(|k| a.get(k).ok() != b.get(k).ok())
        .collect()
}

/// True when `new` is `old` followed by further items (arrays inline or as objects).
fn extends(
    doc_old: &Document,
    old: Option<&Object>,
    doc_new: &Document,
    new: Option<&Object>,
) -> bool {
    let resolve = |doc: &Document, o: Option<&Object>| -> Vec<Object> {
        match o {
            Some(Object::Reference(id)) => doc
                .get_object(*id)
                .and_then(Object::as_array)
                .cloned()
                .unwrap_or_default(),
            Some(Object::Array(a)) => a.clone(),
            _ => Vec::new(),
        }
    };
    let (old, new) = (resolve(doc_old, old), resolve(doc_new, new));
    new.len() >= old.len() && new[..old.len()] == old[..]
}

/// The differences between the revision `signed` and the document `now`, by object.
pub fn changes(signed: &Document, now: &Document) -> Vec<Change> {
    let mut out = BTreeSet::new();
    let pages: BTreeMap<ObjectId, u32> = signed
        .get_pages()
        .into_iter()
        .map(|(n, id)| (id, n))
        .collect();
    let mut content_of: BTreeMap<ObjectId, u32> = BTreeMap::new();
    for (id, n) in &pages {
        if let Ok(page) = signed.get_dictionary(*id) {
            match page.get(b"Contents") {
                Ok(Object::Reference(c)) => {
                    content_of.insert(*c, *n);
                }
                Ok(Object::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_reference().ok())
                    .for_each(|c| {
                        content_of.insert(c, *n);
                    }),
                _ => {}
            }
        }
    }
    let root = |doc: &Document| doc.trailer.get(b"Root").and_then(Object::as_reference).ok();
    let catalog_id = root(now);
    let acroform_ids: BTreeSet<ObjectId> = [signed, now]
        .iter()
        .filter_map(|d| {
            root(d)
                .and_then(|r| d.get_dictionary(r).ok())
                .and_then(|c| c.get(b"AcroForm").and_then(Object::as_reference).ok())
        })
        .collect();

    // New objects that PAdES allows: signature fields and what hangs from them, DSS content.
    let new_ids: BTreeSet<ObjectId> = now
        .objects
        .keys()
        .filter(|id| !signed.objects.contains_key(id))
        .copied()
        .collect();
    let mut allowed_new: BTreeSet<ObjectId> = BTreeSet::new();
    for id in &new_ids {
        let Some(object) = now.objects.get(id) else {
            continue;
        };
        if is_signature_field(object) {
            allowed_new.insert(*id);
            if let Some(d) = dict_of(object) {
                if let Ok(v) = d.get(b"V").and_then(Object::as_reference) {
                    allowed_new.insert(v);
                }
                if let Ok(n) = d
                    .get(b"AP")
                    .and_then(Object::as_dict)
                    .and_then(|ap| ap.get(b"N"))
                    .and_then(Object::as_reference)
                {
                    allowed_new.insert(n);
                }
            }
        }
    }
    let dss_id = catalog_id
        .and_then(|c| now.get_dictionary(c).ok())
        .and_then(|c| c.get(b"DSS").and_then(Object::as_reference).ok());
    if let Some(dss) = dss_id.and_then(|id| now.get_dictionary(id).ok()) {
        allowed_new.extend(dss_id);
        for key in [&b"Certs"[..], b"CRLs", b"OCSPs"] {
            if let Ok(array) = dss.get(key).and_then(Object::as_array) {
                allowed_new.extend(array.iter().filter_map(|o| o.as_reference().ok()));
            }
        }
    }
    allowed_new.extend(acroform_ids.iter().filter(|id| new_ids.contains(id)));

    for id in &new_ids {
        let Some(object) = now.objects.get(id) else {
            continue;
        };
        match dict_type(object) {
            Some(b"XRef" | b"ObjStm") => {}
            Some(b"DocTimeStamp") if allowed_new.contains(id) => {
                out.insert(Change::Permitted(
                    "ajout d'un horodatage de document".into(),
                ));
            }
            Some(b"Sig") if allowed_new.contains(id) => {
                out.insert(Change::Permitted("ajout d'une signature".into()));
            }
            _ if Some(*id) == dss_id => {
                out.insert(Change::Permitted(
                    "ajout des données de validation à long terme (DSS)".into(),
                ));
            }
            _ if allowed_new.contains(id) => {}
            _ => {
                out.insert(Change::Forbidden(format!(
                    "objet {} {} ajouté après la signature",
                    id.0, id.1
                )));
            }
        }
    }

    for (id, old) in &signed.objects {
        if matches!(dict_type(old), Some(b"XRef" | b"ObjStm")) {
            continue;
        }
        let Some(new) = now.objects.get(id) else {
            out.insert(Change::Forbidden(format!(
                "objet {} {} supprimé après la signature",
                id.0, id.1
            )));
            continue;
        };
        if old == new {
            continue;
        }
        let (Some(a), Some(b)) = (dict_of(old), dict_of(new)) else {
            // An indirect array of fields or annotations may only grow by signature fields.
            let grows = extends(signed, Some(old), now, Some(new))
                && new.as_array().is_ok_and(|items| {
                    items
                        .iter()
                        .skip(old.as_array().map_or(0, Vec::len))
                        .all(|i| i.as_reference().is_ok_and(|r| allowed_new.contains(&r)))
                });
            if !grows {
                out.insert(Change::Forbidden(format!(
                    "objet {} {} modifié après la signature",
                    id.0, id.1
                )));
            }
            continue;
        };
        let keys = changed_keys(a, b);
        let only = |allowed: &[&[u8]]| keys.iter().all(|k| allowed.contains(&k.as_slice()));
        let message = if Some(*id) == catalog_id {
            let acroform_ok = match (a.get(b"AcroForm"), b.get(b"AcroForm")) {
                (Ok(Object::Dictionary(x)), Ok(Object::Dictionary(y))) => {
                    changed_keys(x, y)
                        .iter()
                        .all(|k| k == b"Fields" || k == b"SigFlags")
                        && extends(signed, x.get(b"Fields").ok(), now, y.get(b"Fields").ok())
                }
                (x, y) => {
                    let (x, y) = (x.ok(), y.ok());
                    x == y
                        || y.and_then(|o| o.as_reference().ok())
                            .is_some_and(|r| acroform_ids.contains(&r))
                }
            };
            (!(only(&[b"DSS", b"AcroForm"]) && acroform_ok))
                .then(|| "catalogue du document modifié après la signature".to_string())
        } else if acroform_ids.contains(id) {
            (!(only(&[b"Fields", b"SigFlags"])
                && extends(signed, a.get(b"Fields").ok(), now, b.get(b"Fields").ok())))
            .then(|| "formulaire du document modifié après la signature".to_string())
        } else if let Some(n) = pages.get(id) {
            let annots_ok = extends(signed, a.get(b"Annots").ok(), now, b.get(b"Annots").ok());
            (!(only(&[b"Annots"]) && annots_ok))
                .then(|| format!("page {n} modifiée après la signature"))
        } else if let Some(n) = content_of.get(id) {
            Some(format!("contenu de la page {n} modifié après la signature"))
        } else {
            Some(format!(
                "objet {} {} modifié après la signature",
                id.0, id.1
            ))
        };
        if let Some(message) = message {
            out.insert(Change::Forbidden(message));
        }
    }
    // Pages that now show different content through a new content stream.
    for (id, n) in &pages {
        if let (Ok(a), Ok(b)) = (signed.get_dictionary(*id), now.get_dictionary(*id)) {
            if a.get(b"Contents").ok() != b.get(b"Contents").ok() {
                out.insert(Change::Forbidden(format!(
                    "contenu de la page {n} modifié après la signature"
                )));
            }
        }
    }
    out.into_iter().collect()
}
