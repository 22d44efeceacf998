//! Staff passwords: argon2id (PHC strings in `personnel.mot_de_passe`), the rules a new password
//! must follow, and a check that costs the same time whether the account exists or not.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Shortest password accepted. Long rather than complicated: a sentence is easy to remember.
pub const LONGUEUR_MIN: usize = 12;

/// The most common passwords, in lowercase, one a line (`# ` lines are comments).
const COURANTS: &str = include_str!("mots-de-passe-courants.txt");

fn courants() -> &'static HashSet<&'static str> {
    static LISTE: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LISTE.get_or_init(|| {
        COURANTS
            .lines()
            .filter(|l| !l.starts_with("# ") && !l.is_empty())
            .collect()
    })
}

/// Why a new password is refused, in words the person can act on. `noms`: the account's own
/// words (e-mail address, first name, last name), which the password must not contain.
pub fn refus(mot_de_passe: &str, noms: &[&str]) -> Option<String> {
    let n = mot_de_passe.chars().count();
    if n < LONGUEUR_MIN {
        return Some(format!(
            "le mot de passe doit compter au moins {LONGUEUR_MIN} caractères ({n} saisis) ; \
             une courte phrase est facile à retenir"
        ));
    }
    if n > 256 {
        return Some("le mot de passe ne doit pas dépasser 256 caractères".into());
    }
    let minuscules = mot_de_passe.to_lowercase();
    // The address counts by what precedes the @ (the PLIE's domain is everybody's).
    let personnels = noms
        .iter()
        .map(|n| n.split('@').next().unwrap_or_default().to_lowercase())
        .flat_map(|n| {
            let morceaux: Vec<String> = n
                .split(|c: char| !c.is_alphanumeric())
                .map(str::to_owned)
                .collect();
            std::iter::once(n).chain(morceaux)
        })
        .filter(|m| m.chars().count() >= 3);
    for mot in personnels {
        if minuscules.contains(&mot) {
            return Some(
                "le mot de passe ne doit contenir ni votre nom, ni votre prénom, ni votre adresse e-mail"
                    .into(),
            );
        }
    }
    // A common password as it is, or dressed with digits or signs around it (« Marseille13! »).
    let coeur = minuscules.trim_matches(|c: char| !c.is_alphabetic());
    if courants().contains(minuscules.as_str()) || courants().contains(coeur) {
        return Some(
            "ce mot de passe (ou le mot qu'il entoure de chiffres ou de signes) est parmi les plus \
             courants, les premiers essayés par un attaquant : choisissez plutôt une courte phrase"
                .into(),
        );
    }
    let c: Vec<char> = minuscules.chars().collect();
    if c.iter().collect::<HashSet<_>>().len() < 5 || repete(&c) {
        return Some("le mot de passe répète trop les mêmes caractères".into());
    }
    if suite(&c) {
        return Some(
            "le mot de passe est une suite de caractères (123456…, abcdef…) : choisissez plutôt \
             une courte phrase"
                .into(),
        );
    }
    None
}

/// Whether the characters are one pattern repeated (« soleilsoleil »).
fn repete(c: &[char]) -> bool {
    (1..=c.len() / 2).any(|l| c.len().is_multiple_of(l) && c.chunks(l).all(|m| m == &c[..l]))
}

/// Whether the characters follow each other, going up or down, digits wrapping round
/// (« 123456789012 », « zyxwvutsrqpo »).
fn suite(c: &[char]) -> bool {
    let pas = |a: char, b: char| -> Option<u32> {
        let (base, modulo) = if a.is_ascii_digit() && b.is_ascii_digit() {
            ('0', 10)
        } else if a.is_ascii_lowercase() && b.is_ascii_lowercase() {
            ('a', 26)
        } else {
            return None;
        };
        let (a, b) = (a as u32 - base as u32, b as u32 - base as u32);
        Some((b + modulo - a) % modulo).filter(|p| *p == 1 || *p == modulo - 1)
    };
    let premier = c.get(..2).and_then(|d| pas(d[0], d[1]));
    premier.is_some() && c.windows(2).all(|d| pas(d[0], d[1]) == premier)
}

/// The PHC string of a password (argon2id, default parameters of the `argon2` crate, random salt).
pub fn hacher(mot_de_passe: &str) -> Result<String, String> {
    let sel = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(mot_de_passe.as_bytes(), &sel)
        .map(|h| h.to_string())
        .map_err(|e| format!("calcul de l'empreinte du mot de passe impossible : {e}"))
}

/// Whether `mot_de_passe` matches the stored PHC string. With no stored string (unknown account,
/// account not activated), a dummy one is checked so that the answer takes as long.
pub fn verifier(mot_de_passe: &str, phc: Option<&str>) -> bool {
    static LEURRE: OnceLock<String> = OnceLock::new();
    let leurre = LEURRE.get_or_init(|| hacher("leurre : aucun compte").unwrap_or_default());
    let (phc, existe) = match phc {
        Some(p) => (p, true),
        None => (leurre.as_str(), false),
    };
    let Ok(empreinte) = PasswordHash::new(phc) else {
        return false;
    };
    let bon = Argon2::default()
        .verify_password(mot_de_passe.as_bytes(), &empreinte)
        .is_ok();
    bon && existe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn un_mot_de_passe_se_verifie_et_un_autre_non() {
        let phc = hacher("une phrase assez longue").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verifier("une phrase assez longue", Some(&phc)));
        assert!(!verifier("une phrase assez longuE", Some(&phc)));
        assert!(!verifier("une phrase assez longue", None));
        assert!(!verifier("x", Some("pas une empreinte")));
    }

    #[test]
    fn les_regles_parlent_francais() {
        let noms = ["claire.roussel@plie.fr", "Claire", "Roussel"];
        assert!(refus("court", &noms).unwrap().contains("au moins 12"));
        assert!(refus("aaaaaaaaaaaaaaaa", &noms).unwrap().contains("répète"));
        assert!(refus("azertyazertyazerty", &noms)
            .unwrap()
            .contains("répète"));
        assert!(refus("claire.roussel-2025", &noms)
            .unwrap()
            .contains("adresse e-mail"));
        assert!(refus("le jardin de ROUSSEL", &noms)
            .unwrap()
            .contains("nom"));
        assert_eq!(refus("le chat dort sur le radiateur", &noms), None);
    }

    #[test]
    fn les_mots_de_passe_courants_et_les_suites_sont_refuses() {
        let noms = ["c@plie.fr", "Claire", "Roussel"];
        for courant in [
            "123456789012",
            "qwerty123456",
            "Marseille2025!",
            "AZERTYUIOP!!",
            "azertyuiop123",
            "987654321098",
            "abcdefghijklm",
        ] {
            assert!(refus(courant, &noms).is_some(), "{courant} accepté");
        }
        assert_eq!(refus("marseille sous la pluie", &noms), None);
    }
}
