// Signature sur le téléphone du participant : l'écran du référent affiche un QR code et un code
// court ; un second navigateur au format téléphone (390 × 844) l'ouvre et signe ; le document
// est complété, scellé et déposé. Refusés : le code déjà servi, le code d'un document posté sur
// un autre, le code dont la page du référent est fermée, le code expiré ; le code court tapé sur
// /telephone ouvre la même page, et les essais au hasard sont bloqués. En atelier, la tablette
// montre le QR code d'une présente, qui signe sa ligne sur son téléphone au lieu de la tablette.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
  Service, navigateur, installer, activerParOubli, connecter, nouvellePage, capture, tracerDoigt, tracerSouris, pagesAffichees,
  BUREAU, TABLETTE, TELEPHONE, DEPOT, CONSENTEMENT,
} from "../outils.js";

let service, chrome, jeton, ref;
// Chaque jeton et code affiché : aucun ne doit paraître dans le journal du service.
const secrets = [];
// L'horloge du service, avancée par des redémarrages (PARAFE_HORLOGE).
let avance = 0;

before(async () => {
  service = await Service.demarrer();
  chrome = await navigateur();
  ({ jeton } = await installer(service, await chrome.newContext(BUREAU)));
  ref = await nouvellePage(await chrome.newContext(BUREAU));
  await ref.goto(`${service.url}/connexion`);
  await activerParOubli(service, ref, "t.garnier@plie.fr");
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

function contratDonnees() {
  const d = JSON.parse(fs.readFileSync(path.join(DEPOT, "document-templates/examples/contrat-engagement.json"), "utf8"));
  for (const cle of ["reference", "participant", "referent", "operation", "date_entree", "plie"]) delete d[cle];
  return d;
}

/// Un contrat envoyé pour signature, la participante signant sur place (sans courriel) ; rend
/// { reference, version }.
async function contratEnvoye(nom) {
  let r = await service.api("GET", `/api/participants?recherche=${encodeURIComponent(nom)}`, jeton);
  const participant = r.json.participants[0].ref;
  r = await service.api("POST", "/api/documents", jeton, { workflow: "contrat-engagement", participant, donnees: contratDonnees(),
    signataires: [{ role: "participant", methode: "tablette" }] });
  assert.equal(r.statut, 201, r.texte);
  const reference = r.json.document.ref;
  r = await service.api("POST", `/api/documents/${reference}/envoi`, jeton);
  assert.equal(r.statut, 200, r.texte);
  return { reference, version: r.json.document.sha256_rendu };
}

/// Le référent ouvre le document et affiche le QR code : rend { url, jeton, code }.
async function afficherQr(page, reference) {
  await page.goto(`${service.url}/documents/${reference}`);
  await Promise.all([page.waitForNavigation(), page.click("button:has-text('Faire signer sur son téléphone')")]);
  await page.locator("#telephone svg.qr").waitFor();
  const url = await page.locator("#telephone").getAttribute("data-url");
  const code = (await page.locator("#code-court").textContent()).trim();
  assert.match(url, new RegExp(`^${service.url}/telephone/[a-z2-7]{32}$`));
  assert.match(code, /^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
  const jetonTel = url.split("/telephone/")[1];
  secrets.push(jetonTel, code, code.replace("-", ""));
  return { url, jeton: jetonTel, code };
}

async function etatDe(reference) {
  return (await service.api("GET", `/api/documents/${reference}`, jeton)).json;
}

async function signerSurLeTelephone(p) {
  await pagesAffichees(p);
  await p.locator("#pad").scrollIntoViewIfNeeded();
  await tracerDoigt(p);
  await p.check("#consentement");
}

/// Redémarre le service, son horloge avancée de `minutes` de plus.
async function avancer(minutes) {
  avance += minutes;
  await service.redemarrer(new Date(Date.now() + avance * 60000).toISOString());
}

async function signatureDirecte(jetonTel, reference, version) {
  return fetch(`${service.url}/telephone/${jetonTel}/signer/${reference}`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ nom_tape: "Samira Benali", consentement: CONSENTEMENT, version }),
  });
}

test("QR code de bout en bout : affiché par le référent, signé sur le téléphone, document scellé et déposé", async () => {
  const { reference } = await contratEnvoye("Benali");
  const { url } = await afficherQr(ref, reference);
  assert.match(await ref.locator("#etat-telephone").textContent(), /En attente/);
  // Le QR code est dessiné par le serveur (SVG en ligne), carré, centré dans son cadre.
  const qr = await ref.locator("#telephone svg.qr").boundingBox();
  const cadre = await ref.locator("#telephone").boundingBox();
  assert.ok(qr.width >= 200 && Math.abs(qr.width - qr.height) < 1, JSON.stringify(qr));
  assert.ok(Math.abs((qr.x - cadre.x) - (cadre.x + cadre.width - qr.x - qr.width)) < 2, "QR code centré");
  await capture(ref, "30-telephone-qr-referent");

  const telephone = await chrome.newContext(TELEPHONE);
  const p = await nouvellePage(telephone);
  const ouverture = await p.goto(url);
  assert.equal(ouverture.status(), 200);
  assert.match(await p.locator("h1").textContent(), /Contrat d'engagement/);
  assert.match(await p.locator(".intro").textContent(), /Samira BENALI|Samira Benali/i);
  assert.equal(await p.locator("#code").count(), 0, "pas de code par courriel à saisir");
  await ref.locator("#etat-telephone", { hasText: "Ouvert sur le téléphone" }).waitFor({ timeout: 15000 });
  await signerSurLeTelephone(p);
  const largeur = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(largeur <= 390, `rien ne déborde à 390 px (largeur ${largeur})`);
  await capture(p, "31-telephone-signature");
  await p.click("#signer");
  await p.waitForURL(/signature-telephone-enregistree/);
  await capture(p, "32-telephone-merci");
  assert.deepEqual(p.erreurs, [], p.erreurs.join("\n"));
  await ref.locator("#etat-telephone", { hasText: "Signé sur le téléphone" }).waitFor({ timeout: 15000 });
  await capture(ref, "33-telephone-signe-referent");
  assert.equal((await etatDe(reference)).document.etat, "partiellement_signe");

  // Le même code ne sert pas deux fois, ni par la page ni par une requête directe.
  const encore = await p.goto(url);
  assert.equal(encore.status(), 410);
  assert.match(await p.locator("main").textContent(), /déjà servi/);
  const version = (await etatDe(reference)).document.sha256_rendu;
  const direct = await signatureDirecte(url.split("/telephone/")[1], reference, version);
  assert.equal(direct.status, 409);

  // Le référent signe sur la tablette : le document est signé, scellé, déposé.
  await ref.goto(`${service.url}/documents/${reference}`);
  await ref.click("text=Faire signer sur la tablette");
  await ref.locator("#pad").scrollIntoViewIfNeeded();
  await tracerSouris(ref);
  await ref.check("#consentement");
  await ref.click("#signer");
  await ref.waitForURL(/message=signe/);
  const v = await service.attendreEtat(jeton, reference, ["depose", "delivre"]);
  assert.equal(v.signataires.filter((s) => s.etat === "signe").length, 2);
  // Le certificat de preuve du PDF scellé dit comment la participante a signé.
  const pdf = await fetch(`${service.url}/api/documents/${reference}/pdf`, { headers: { Authorization: `Bearer ${jeton}` } });
  assert.equal(pdf.status, 200);
  const fichier = path.join(service.racine, "telephone-scelle.pdf");
  fs.writeFileSync(fichier, Buffer.from(await pdf.arrayBuffer()));
  const texte = execFileSync("pdftotext", ["-layout", fichier, "-"], { encoding: "utf8" }).replace(/\s+/g, " ");
  assert.match(texte, /sur son téléphone, code affiché par le référent/);
  assert.match(texte, /session tient lieu de second facteur/);
  assert.deepEqual(ref.erreurs, [], ref.erreurs.join("\n"));
});

test("le code d'un document ne signe pas un autre document ; rien n'est écrit", async () => {
  const a = await contratEnvoye("Benali");
  const b = await contratEnvoye("Durand");
  const { jeton: jetonB } = await afficherQr(ref, b.reference);
  // Le jeton de B, sur la signature de A (avec la bonne version de A) : refusé.
  const r = await signatureDirecte(jetonB, a.reference, a.version);
  assert.equal(r.status, 403);
  assert.match((await r.json()).erreur, /autre document/);
  assert.equal((await etatDe(a.reference)).document.etat, "envoye");
  assert.equal((await etatDe(b.reference)).document.etat, "envoye");
  // Le jeton de B sur B, avec la version de A : refusé aussi.
  const r2 = await signatureDirecte(jetonB, b.reference, a.version);
  assert.equal(r2.status, 422);
  assert.equal((await etatDe(b.reference)).document.etat, "envoye");
});

test("page du référent fermée, puis code expiré : refusés avec un message en français", async () => {
  const { reference } = await contratEnvoye("Durand");
  const autre = await nouvellePage(await chrome.newContext(BUREAU));
  await autre.goto(service.url);
  await connecter(autre, "t.garnier@plie.fr");
  const { url } = await afficherQr(autre, reference);
  await autre.close();
  // Deux minutes plus tard (le code vaut 10 minutes) : plus aucune page ne le montrait.
  await avancer(2);
  const p = await nouvellePage(await chrome.newContext(TELEPHONE));
  let reponse = await p.goto(url);
  assert.equal(reponse.status(), 410);
  assert.match(await p.locator("main").textContent(), /le référent a fermé la page/);

  // Un nouveau code, la page du référent restée ouverte : onze minutes plus tard, il a expiré.
  const { url: url2 } = await afficherQr(ref, reference);
  await avancer(11);
  await ref.locator("#etat-telephone", { hasText: "Code expiré" }).waitFor({ timeout: 30000 });
  reponse = await p.goto(url2);
  assert.equal(reponse.status(), 410);
  assert.match(await p.locator("main").textContent(), /ce code a expiré/);
  assert.equal((await etatDe(reference)).document.etat, "envoye");
  ref.erreurs.length = 0; // les demandes d'état pendant le redémarrage
});

test("le code court tapé sur /telephone ouvre la signature, une fois ; les essais au hasard sont bloqués", async () => {
  const { reference } = await contratEnvoye("Benali");
  const { code } = await afficherQr(ref, reference);
  const p = await nouvellePage(await chrome.newContext(TELEPHONE));
  await p.goto(`${service.url}/telephone`);
  await p.fill("#code", "ZZZZ-ZZZZ");
  let [reponse] = await Promise.all([p.waitForNavigation(), p.click("button[type=submit]")]);
  assert.equal(reponse.status(), 422);
  assert.match(await p.locator(".alerte.erreur").textContent(), /code inconnu/);
  p.erreurs.length = 0; // la réponse 422 attendue
  // Tapé en minuscules, avec une espace : le même code.
  await p.fill("#code", code.toLowerCase().replace("-", " "));
  await capture(p, "34-telephone-saisie-code");
  [reponse] = await Promise.all([p.waitForNavigation(), p.click("button[type=submit]")]);
  assert.equal(reponse.status(), 200);
  assert.match(p.url(), /\/telephone\/[a-z2-7]{32}$/);
  secrets.push(p.url().split("/telephone/")[1]);
  await ref.locator("#etat-telephone", { hasText: "Ouvert sur le téléphone" }).waitFor({ timeout: 15000 });
  await signerSurLeTelephone(p);
  await p.click("#signer");
  await p.waitForURL(/signature-telephone-enregistree/);
  assert.equal((await etatDe(reference)).document.etat, "partiellement_signe");
  await ref.locator("#etat-telephone", { hasText: "Signé sur le téléphone" }).waitFor({ timeout: 15000 });

  // Le code a servi.
  await p.goto(`${service.url}/telephone`);
  await p.fill("#code", code);
  [reponse] = await Promise.all([p.waitForNavigation(), p.click("button[type=submit]")]);
  assert.equal(reponse.status(), 422);
  // Des codes au hasard : bloqués après quelques essais depuis la même adresse.
  let statut = 0, essais = 0, message = "";
  while (statut !== 429 && essais < 20) {
    const r = await fetch(`${service.url}/telephone`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `code=${"23456789ABCDEFGH".slice(essais % 8, essais % 8 + 8)}`, redirect: "manual" });
    statut = r.status;
    message = await r.text();
    essais++;
  }
  assert.equal(statut, 429, "les essais au hasard sont bloqués");
  assert.ok(essais <= 11, `bloqué après ${essais} essais`);
  assert.match(message, /trop de codes erronés/);

  // Aucun jeton ni code dans le journal du service.
  const fichierJournal = path.join(service.racine, "parafe.log");
  const journal = service.journal.join("\n") + (fs.existsSync(fichierJournal) ? fs.readFileSync(fichierJournal, "utf8") : "");
  for (const s of secrets) assert.ok(!journal.includes(s), "un secret dans le journal du service");
  assert.deepEqual(p.erreurs.filter((e) => !/status of (422|429)/.test(e)), [], p.erreurs.join("\n"));
});

test("atelier : une présente signe sur son téléphone au lieu de la tablette, la feuille close est scellée", async () => {
  const tablette = await nouvellePage(await chrome.newContext(TABLETTE));
  await tablette.goto(service.url);
  await connecter(tablette, "t.garnier@plie.fr");
  await tablette.goto(`${service.url}/kiosque/nouveau`);
  await tablette.check("input[name=genre][value=collectif]");
  await tablette.fill("#intitule", "Atelier « Préparer son CV »");
  await tablette.fill("#lieu", "Maison de l'emploi de Lunel");
  for (const nom of ["Samira BENALI", "Karim DURAND"]) {
    await tablette.locator("label.case", { hasText: nom }).locator("input").check();
  }
  await tablette.click("text=Ouvrir la feuille sur cette tablette");
  await tablette.waitForURL(/\/kiosque\/k-/);
  const feuille = tablette.url();

  // Karim Durand signe sur la tablette, Samira Benali sur son téléphone.
  await tablette.locator("button.present", { hasText: "Karim DURAND" }).click();
  await tracerDoigt(tablette, "#pad", 3);
  await tablette.check("#consentement");
  await tablette.click("#signer");
  await tablette.locator("button.present", { hasText: "Karim DURAND" }).locator("text=signé ✓").waitFor();
  await tablette.click("#telephones summary");
  // Seule la personne qui n'a pas signé a son QR code.
  assert.equal(await tablette.locator("#telephones li:not([hidden]) button").count(), 1);
  await capture(tablette, "35-atelier-telephones");
  await Promise.all([tablette.waitForNavigation(), tablette.click("#telephones button:has-text('Samira BENALI')")]);
  await tablette.locator("#telephone svg.qr").waitFor();
  const url = await tablette.locator("#telephone").getAttribute("data-url");
  secrets.push(url.split("/telephone/")[1]);
  await capture(tablette, "36-atelier-qr");

  const p = await nouvellePage(await chrome.newContext(TELEPHONE));
  assert.equal((await p.goto(url)).status(), 200);
  assert.match(await p.locator(".intro").textContent(), /Samira BENALI/i);
  await signerSurLeTelephone(p);
  await p.click("#signer");
  await p.waitForURL(/signature-telephone-enregistree/);
  // La tablette revient d'elle-même à la feuille, la ligne signée.
  await tablette.waitForURL(feuille, { timeout: 15000 });
  await tablette.locator("button.present", { hasText: "Samira BENALI" }).locator("text=signé ✓").waitFor();
  assert.ok(!(await tablette.locator("#telephones").isVisible()), "plus personne à faire signer sur un téléphone");
  // Le même code ne signe pas une seconde fois.
  assert.equal((await p.goto(url)).status(), 410);

  // Le référent clôt : deux présents et l'animateur, scellée, déposée ; les preuves disent le téléphone.
  await tablette.click("#cloturer");
  await tracerDoigt(tablette, "#pad", 5);
  await tablette.check("#consentement");
  await tablette.click("#signer");
  await tablette.waitForURL(/\/documents\/d-/);
  const reference = tablette.url().match(/\/documents\/(d-[a-z0-9]+)/)[1];
  const v = await service.attendreEtat(jeton, reference, ["depose", "delivre"]);
  assert.equal(v.signataires.filter((s) => s.etat === "signe").length, 3);
  const pdf = await fetch(`${service.url}/api/documents/${reference}/pdf`, { headers: { Authorization: `Bearer ${jeton}` } });
  const fichier = path.join(service.racine, "atelier-telephone.pdf");
  fs.writeFileSync(fichier, Buffer.from(await pdf.arrayBuffer()));
  const texte = execFileSync("pdftotext", ["-layout", fichier, "-"], { encoding: "utf8" }).replace(/\s+/g, " ");
  // Samira Benali a signé sur son téléphone, Karim Durand sur la tablette.
  assert.match(texte, /Samira BENALI sur son téléphone, code affiché par/);
  assert.match(texte, /signé sur son téléphone, ouvert par le code n°/);
  assert.match(texte, /Karim DURAND sur tablette/);
  assert.deepEqual(tablette.erreurs, [], tablette.erreurs.join("\n"));
  assert.deepEqual(p.erreurs.filter((e) => !/status of 410/.test(e)), [], p.erreurs.join("\n"));
});
