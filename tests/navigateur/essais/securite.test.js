// Essais de sécurité, dans le navigateur et par requêtes directes : rôles (l'assistante dépose
// des justificatifs mais ne modifie aucun document), cloisonnement (portefeuille du référent, autre PLIE), liens de signature
// (utilisé, expiré, bloqué après 5 codes faux), jeton anti-CSRF, verrouillage des comptes et du
// kiosque, en-têtes de sécurité.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  Service, navigateur, installer, activerParOubli, nouvellePage, connecter, lien,
  BUREAU, TABLETTE, MOT_DE_PASSE, DEPOT, CONSENTEMENT,
} from "../outils.js";

let service, chrome, jeton, admin;

function contratDonnees() {
  const d = JSON.parse(fs.readFileSync(path.join(DEPOT, "document-templates/examples/contrat-engagement.json"), "utf8"));
  for (const cle of ["reference", "participant", "referent", "operation", "date_entree", "plie"]) delete d[cle];
  return d;
}

async function participant(nom, j = jeton) {
  const r = await service.api("GET", `/api/participants?recherche=${encodeURIComponent(nom)}`, j);
  return r.json.participants[0].ref;
}

/// Un contrat envoyé dont la participante signe par lien ; rend { reference, invitation }.
async function contratEnvoye(nom, email) {
  const p = await participant(nom);
  let r = await service.api("POST", "/api/documents", jeton, { workflow: "contrat-engagement", participant: p, donnees: contratDonnees(), signataires: [{ role: "participant", methode: "lien" }] });
  assert.equal(r.statut, 201, r.texte);
  const reference = r.json.document.ref;
  const avant = service.smtp.courriels().filter((m) => m.split("\n")[0].includes(email) && m.includes("/signer/")).length;
  r = await service.api("POST", `/api/documents/${reference}/envoi`, jeton);
  assert.equal(r.statut, 200, r.texte);
  const invitation = await service.smtp.attendre(email, "/signer/", avant);
  return { reference, invitation };
}

before(async () => {
  service = await Service.demarrer();
  chrome = await navigateur();
  admin = await chrome.newContext(BUREAU);
  ({ jeton } = await installer(service, admin));
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

test("chaque page porte des en-têtes de sécurité stricts et n'appelle rien d'extérieur", async () => {
  const r = await fetch(`${service.url}/connexion`);
  const csp = r.headers.get("content-security-policy");
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");
  assert.equal(r.headers.get("x-frame-options"), "DENY");
  assert.equal(r.headers.get("referrer-policy"), "same-origin");
  const html = await r.text();
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "aucune ressource extérieure");
  assert.doesNotMatch(html, /<script>(?!<\/script>)|style="/, "ni script ni style en ligne");
});

test("connexion : 5 mots de passe faux verrouillent le compte 15 minutes, même le bon est alors refusé, sans dire quel compte existe", async () => {
  const ctx = await chrome.newContext(BUREAU);
  const page = await nouvellePage(ctx);
  await page.goto(`${service.url}/connexion`);
  // Un compte dédié à l'essai, ouvert par l'administrateur.
  const a = await nouvellePage(admin);
  await a.goto(`${service.url}/admin/comptes`);
  await a.fill("#prenom", "Léa");
  await a.fill("#nom", "Verrou");
  await a.fill("#email", "lea.verrou@plie.fr");
  await a.selectOption("#role", "referent");
  await a.click("form[action='/admin/comptes'] button[type=submit]");
  const m = await service.smtp.attendre("lea.verrou@plie.fr", "/compte/");
  await page.goto(lien(m, "/compte/"));
  await page.fill("#mot_de_passe", MOT_DE_PASSE);
  await page.fill("#confirmation", MOT_DE_PASSE);
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  const refus = async (email, mot) => {
    await page.fill("#email", email);
    await page.fill("#mot_de_passe", mot);
    await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
    return page.locator(".alerte.erreur").textContent();
  };
  // Le même message pour une adresse inconnue, un compte ou un compte verrouillé : la page ne
  // dit pas quels comptes existent.
  const inconnu = await refus("personne@plie.fr", "faux 0");
  assert.match(inconnu, /adresse e-mail ou mot de passe incorrect/);
  for (let i = 1; i <= 5; i++) assert.equal(await refus("lea.verrou@plie.fr", `faux ${i}`), inconnu);
  assert.equal(await refus("lea.verrou@plie.fr", MOT_DE_PASSE), inconnu, "même le bon mot de passe");
  assert.match(page.url(), /\/connexion$/);
  assert.match(inconnu, /verrouillé 15 minutes/);
  await a.goto(`${service.url}/admin/comptes`);
  assert.match(await a.locator("tr", { hasText: "lea.verrou@plie.fr" }).textContent(), /verrouillé/);
});

test("l'assistante lit tout le PLIE et télécharge, mais ne crée, ne modifie, n'envoie, ne signe ni n'annule aucun document", async () => {
  const { reference } = await contratEnvoye("Durand", "karim.durand@exemple.fr");
  const a = await nouvellePage(admin);
  await a.goto(`${service.url}/admin/comptes`);
  await a.fill("#prenom", "Alain");
  await a.fill("#nom", "Sistant");
  await a.fill("#email", "assistant@plie.fr");
  await a.selectOption("#role", "assistant");
  await a.click("form[action='/admin/comptes'] button[type=submit]");
  const m = await service.smtp.attendre("assistant@plie.fr", "/compte/");
  const ctx = await chrome.newContext(BUREAU);
  const page = await nouvellePage(ctx);
  await page.goto(lien(m, "/compte/"));
  await page.fill("#mot_de_passe", MOT_DE_PASSE);
  await page.fill("#confirmation", MOT_DE_PASSE);
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  await connecter(page, "assistant@plie.fr");
  // Il voit les participants des deux référents.
  assert.match(await page.locator("h1").textContent(), /Participants du PLIE/);
  assert.ok(await page.locator("tbody tr").count() >= 3);
  await page.goto(`${service.url}/documents/${reference}`);
  assert.equal(await page.locator("text=Annuler le document").count(), 0);
  assert.equal(await page.locator("text=Relancer").count(), 0);
  // Les actions, appelées directement avec un jeton anti-CSRF valide, sont refusées.
  const csrf = await page.locator("input[name=csrf]").first().getAttribute("value");
  for (const action of ["annuler", "relancer", "envoyer"]) {
    const r = await page.request.post(`${service.url}/documents/${reference}/${action}`, { form: { csrf }, headers: { Origin: service.url } });
    assert.equal(r.status(), action === "envoyer" ? 403 : 403, `${action} : ${r.status()}`);
  }
  const p = await participant("Benali");
  const nouveau = await page.goto(`${service.url}/participants/${p}/nouveau/contrat-engagement`);
  assert.equal(nouveau.status(), 403);
  const kiosque = await page.goto(`${service.url}/kiosque/nouveau`);
  assert.equal(kiosque.status(), 403);
  const api = await page.request.post(`${service.url}/api/documents/${reference}/annulation`, { headers: { "X-CSRF-Token": csrf, Origin: service.url } });
  assert.equal(api.status(), 403);
  const v = await service.api("GET", `/api/documents/${reference}`, jeton);
  assert.equal(v.json.document.etat, "envoye", "rien n'a changé");
  // Mais il télécharge et exporte (l'export est consigné au journal des preuves).
  const csv = await page.request.get(`${service.url}/accueil/participants.csv`);
  assert.equal(csv.status(), 200);
  const texte = await csv.text();
  assert.match(texte, /Identifiant;Civilité;Nom;Prénom/);
  assert.match(texte, /Benali/);
  assert.match(texte, /Roux/, "les participants des deux référents");
  const pdf = await page.request.get(`${service.url}/documents/${reference}/pdf`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()["content-type"], "application/pdf");
});

test("un référent ne voit ni les participants d'un autre référent, ni ceux d'un autre PLIE", async () => {
  // Un autre PLIE, sur la même instance, avec son participant.
  const autre = service.compte("admin@autre-plie.fr", "admin", "plie-autre");
  const ligne = "Identifiant;Nom;Prénom;Commune;Email référent;Nom référent;Prénom référent\nQ-1;Secret;Sophie;Bordeaux;r@autre-plie.fr;Autre;Référent\n";
  const r = await service.api("POST", "/api/participants/import", autre, ligne, "text/csv");
  assert.equal(r.statut, 200, r.texte);
  const ailleurs = await participant("Secret", autre);
  const deMarion = await participant("Roux");
  const ctx = await chrome.newContext(BUREAU);
  const page = await nouvellePage(ctx);
  await page.goto(`${service.url}/connexion`);
  await activerParOubli(service, page, "t.garnier@plie.fr");
  const texte = await page.locator("main").textContent();
  assert.doesNotMatch(texte, /ROUX|SECRET/);
  for (const ref of [deMarion, ailleurs]) {
    const reponse = await page.goto(`${service.url}/participants/${ref}`);
    assert.equal(reponse.status(), 404, ref);
    assert.match(await page.locator(".alerte").textContent(), /aucun participant/);
  }
  await page.goto(`${service.url}/accueil?q=Secret`);
  assert.match(await page.locator("main").textContent(), /Aucun participant ne correspond/);
  // L'administrateur du PLIE de test ne voit pas non plus l'autre PLIE.
  const a = await nouvellePage(admin);
  const reponse = await a.goto(`${service.url}/participants/${ailleurs}`);
  assert.equal(reponse.status(), 404);
  // Ni par l'API.
  const api = await service.api("GET", `/api/participants/${ailleurs}`, jeton);
  assert.equal(api.statut, 404);
});

test("jeton anti-CSRF faux ou absent, ou requête venue d'un autre site : refusés, rien ne change", async () => {
  const ctx = await chrome.newContext(BUREAU);
  const page = await nouvellePage(ctx);
  await page.goto(`${service.url}/connexion`);
  await connecter(page, "t.garnier@plie.fr");
  const p = await participant("Benali");
  let r = await service.api("POST", "/api/documents", jeton, { workflow: "contrat-engagement", participant: p, donnees: contratDonnees() });
  const reference = r.json.document.ref;
  const vrai = await page.locator("input[name=csrf]").first().getAttribute("value");
  const essais = [
    { form: { csrf: "faux-jeton" }, headers: { Origin: service.url } },
    { form: {}, headers: { Origin: service.url } },
    { form: { csrf: vrai }, headers: { Origin: "http://attaquant.exemple" } },
  ];
  for (const e of essais) {
    const reponse = await page.request.post(`${service.url}/documents/${reference}/annuler`, e);
    assert.equal(reponse.status(), 403, JSON.stringify(e));
  }
  const api = await page.request.post(`${service.url}/api/documents/${reference}/annulation`, { headers: { Origin: service.url } });
  assert.equal(api.status(), 403);
  assert.match((await api.json()).erreur, /anti-CSRF/);
  r = await service.api("GET", `/api/documents/${reference}`, jeton);
  assert.equal(r.json.document.etat, "brouillon", "rien n'a changé");
  // Le vrai jeton passe.
  const bon = await page.request.post(`${service.url}/documents/${reference}/annuler`, { form: { csrf: vrai }, headers: { Origin: service.url } });
  assert.equal(bon.status(), 200);
  r = await service.api("GET", `/api/documents/${reference}`, jeton);
  assert.equal(r.json.document.etat, "annule");
});

test("lien de signature : 5 codes faux bloquent la demande", async () => {
  const { invitation } = await contratEnvoye("Benali", "samira.benali@exemple.fr");
  const ctx = await chrome.newContext(TABLETTE);
  const page = await nouvellePage(ctx);
  await page.goto(lien(invitation, "/signer/"));
  await page.click("text=Recevoir mon code");
  await service.smtp.attendre("samira.benali@exemple.fr", "Votre code");
  for (let i = 1; i <= 5; i++) {
    await page.fill("#code", "000000");
    await Promise.all([page.waitForNavigation(), page.click("text=Valider le code")]);
    const texte = await page.locator("main").textContent();
    if (i < 5) assert.match(texte, new RegExp(`il vous reste ${5 - i} essai`));
    else assert.match(texte, /trop de codes erronés/);
  }
  const encore = await page.goto(lien(invitation, "/signer/"));
  assert.equal(encore.status(), 403);
  // Même le bon code n'ouvre plus rien, et l'API dit la même chose.
  const jetonLien = lien(invitation, "/signer/").split("/signer/")[1];
  const r = await fetch(`${service.url}/api/signature/${jetonLien}`);
  assert.equal(r.status, 403);
});

test("lien de signature expiré (72 h plus tard) : refusé, avec un message qui dit quoi faire", async () => {
  // Une fiche de positionnement (première relance à 5 jours) : à 4 jours, le lien a expiré et
  // aucune relance n'en a encore envoyé un autre.
  const d = JSON.parse(fs.readFileSync(path.join(DEPOT, "document-templates/examples/fiche-liaison-positionnement.json"), "utf8"));
  for (const cle of ["reference", "participant", "referent", "operation", "date_entree", "plie", "retour"]) delete d[cle];
  const p = await participant("Benali");
  let r = await service.api("POST", "/api/documents", jeton, { workflow: "fiche-liaison-positionnement", participant: p, donnees: d,
    signataires: [{ role: "referent", methode: "lien" }, { role: "partenaire", nom: "Karim Benoît", email: "k.benoit@exemple.fr" }] });
  assert.equal(r.statut, 201, r.texte);
  const avant = service.smtp.courriels().filter((m) => m.split("\n")[0].includes("t.garnier@plie.fr") && m.includes("/signer/")).length;
  r = await service.api("POST", `/api/documents/${r.json.document.ref}/envoi`, jeton);
  assert.equal(r.statut, 200, r.texte);
  const invitation = await service.smtp.attendre("t.garnier@plie.fr", "/signer/", avant);
  const plusTard = new Date(Date.now() + 4 * 24 * 3600 * 1000).toISOString();
  await service.redemarrer(plusTard);
  const ctx = await chrome.newContext(TABLETTE);
  const page = await nouvellePage(ctx);
  const reponse = await page.goto(lien(invitation, "/signer/"));
  assert.equal(reponse.status(), 410);
  assert.match(await page.locator("main").textContent(), /expiré : demandez un nouvel envoi à votre référent/);
  // Et on ne signe pas en passant outre la page.
  const jetonLien = lien(invitation, "/signer/").split("/signer/")[1];
  const s = await fetch(`${service.url}/signer/${jetonLien}`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ nom_tape: "Thomas Garnier", consentement: CONSENTEMENT, version: "0".repeat(64) }) });
  assert.equal(s.status, 409);
});
