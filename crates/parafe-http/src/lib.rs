//! The HTTP layer of the service, above the JSON API ([`crate::api`]) and the screens
//! ([`crate::web`]), which never import each other: the one router that mounts both, the caller
//! extractor, the error answer and JSON body they share, and the security headers.

pub mod api;
pub mod web;

pub mod acteur;
pub mod corps;
pub mod entetes;
pub mod erreur;
pub mod lien;
pub mod routeur;
