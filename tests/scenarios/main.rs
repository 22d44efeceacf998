//! parafe's scenarios, run against the real binary and real outside tools (qpdf, poppler,
//! pyHanko, openssl, S3 servers). One test binary for all of them keeps CI's link time low.

mod a_faire;
mod architecture;
mod attaque_fichiers;
mod attaque_import;
mod attaque_kiosque;
mod attaque_liens;
mod attaque_stockage;
mod chiffres;
mod erreurs;
mod fuzz;
mod grappe;
mod heures;
mod operations;
mod outbox;
mod pack;
mod pipeline;
mod plies;
mod questionnaire;
mod questionnaire_pdf;
mod remise;
mod render;
mod seal;
mod service;
mod store;
mod support;
mod temps;
mod web;
mod workflow;
