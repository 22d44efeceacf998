//! Staff passwords: argon2id (PHC strings in `personnel.mot_de_passe`), the rules a new password
//! must follow, and a check that costs the same time whether the account exists or not.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

/// Shortest password accepted. Long rather than complicated: a sentence is easy to remember.
pub const LONGUEUR_MIN: usize = 12;

/// Why a new password is refused, in words the person can act on.
pub fn refus(mot_de_passe: &str, email: &str) -> Option<String> {
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
    let identifiant = email.split('@').next().unwrap_or_default().to_lowercase();
    if identifiant.len() >= 4 && mot_de_passe.to_lowercase().contains(&identifiant) {
        return Some("le mot de passe ne doit pas contenir votre adresse e-mail".into());
    }
    if mot_de_passe
        .chars()
        .collect::<std::collections::HashSet<_>>()
        .len()
        < 5
    {
        return Some("le mot de passe répète trop les mêmes caractères".into());
    }
    None
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
        assert!(refus("court", "a@b.fr").unwrap().contains("au moins 12"));
        assert!(refus("aaaaaaaaaaaaaaaa", "a@b.fr")
            .unwrap()
            .contains("répète"));
        assert!(refus("claire.roussel-2025", "claire.roussel@plie.fr")
            .unwrap()
            .contains("adresse e-mail"));
        assert_eq!(refus("le chat dort sur le radiateur", "c@plie.fr"), None);
    }
}
