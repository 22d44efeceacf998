// Scénario 7 : ce qui reste au référent après la signature et avant la rédaction.
// - Un participant sans adresse e-mail signe son contrat sur la tablette du bureau : scellé et
//   déposé, sa copie est à lui remettre ; « À faire » le rappelle, la page du document porte le
//   formulaire ; la remise à son contact consignée, le document est « remis aux destinataires ».
// - Un bilan BRSA ouvert depuis le dossier : un brouillon propre, le Référent unique et le SDI du
//   Département déjà remplis, et la liste en français de ce qui reste à écrire, jamais une erreur.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  Service, navigateur, installer, activerParOubli, nouvellePage, capture, tracerDoigt, tracerSouris,
  BUREAU, EXTRACTION,
} from "../outils.js";

let service, chrome, jeton, ref;

const SANS_COURRIEL = "P-2025-0430;Monsieur;Roux;Didier;03/07/1970;;;34000;Montpellier;34;t.garnier@plie.fr;Garnier;Thomas;202500417;CCAS de Montpellier;;02/06/2025;Non;;;";

async function participant(nom) {
  const r = await service.api("GET", `/api/participants?recherche=${encodeURIComponent(nom)}`, jeton);
  return r.json.participants[0].ref;
}

before(async () => {
  service = await Service.demarrer();
  chrome = await navigateur();
  const admin = await chrome.newContext(BUREAU);
  ({ jeton } = await installer(service, admin));
  let r = await service.api("PUT", "/api/departements/34", jeton, { nom: "Hérault", email_referent_unique: "ru@herault.exemple", email_sdi: "sdi@herault.exemple" });
  assert.equal(r.statut, 200, r.texte);
  const [entete] = EXTRACTION.split("\n");
  r = await service.api("POST", "/api/participants/import", jeton, `${entete}\n${SANS_COURRIEL}\n`, "text/csv");
  assert.equal(r.statut, 200, r.texte);
  ref = await nouvellePage(await chrome.newContext(BUREAU));
  await ref.goto(`${service.url}/connexion`);
  await activerParOubli(service, ref, "t.garnier@plie.fr");
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

test("un participant sans courriel : sa copie scellée, remise à son contact, est consignée", async () => {
  const p = await participant("Didier Roux");
  let r = await service.api("POST", "/api/documents", jeton, {
    workflow: "contrat-engagement", participant: p,
    donnees: {
      commission: { reference: "CS-2025-06", date: "2025-06-10" },
      parcours: "Reprise d'un emploi dans les espaces verts : permis B, chantier d'insertion.",
      premiere_etape: { intitule: "Chantier d'insertion espaces verts", date: "2025-06-23" },
      engagements_participant: ["Venir aux rendez-vous fixés"], engagements_referent: ["Recevoir deux fois par mois"],
      engagements_plie: ["Financer les étapes validées"], lieu_signature: "Montpellier",
    },
  });
  assert.equal(r.statut, 201, r.texte);
  const reference = r.json.document.ref;
  r = await service.api("POST", `/api/documents/${reference}/envoi`, jeton);
  assert.equal(r.statut, 200, r.texte);

  // Au bureau, l'un après l'autre sur la tablette : le participant, puis le référent.
  await ref.goto(`${service.url}/documents/${reference}`);
  await ref.click("text=Faire signer sur la tablette : Didier ROUX");
  await ref.waitForURL(/\/signer\/0$/);
  await ref.locator("#pad").scrollIntoViewIfNeeded();
  await tracerDoigt(ref, "#pad", 3);
  await ref.check("#consentement");
  await ref.click("#signer");
  await ref.waitForURL(/message=signe/);
  await ref.click("text=Faire signer sur la tablette : Thomas GARNIER");
  await ref.waitForURL(/\/signer\/1$/);
  await ref.locator("#pad").scrollIntoViewIfNeeded();
  await tracerSouris(ref);
  await ref.check("#consentement");
  await ref.click("#signer");
  await ref.waitForURL(/message=signe/);
  await service.attendreEtat(jeton, reference, ["depose"]);

  // « À faire » le rappelle ; la page du document porte le formulaire.
  await ref.goto(`${service.url}/a-faire`);
  const ligne = ref.locator("tr[data-action=copie_a_remettre]");
  assert.equal(await ligne.count(), 1);
  assert.match(await ligne.textContent(), /Didier ROUX.*sa copie scellée à lui remettre/s);
  await ligne.locator("text=Consigner la remise").click();
  await ref.waitForURL(new RegExp(`/documents/${reference}#remise`));
  assert.match(await ref.locator(".entete-document").textContent(), /déposé au coffre/);
  await ref.locator("#remise").scrollIntoViewIfNeeded();
  await capture(ref, "70-copie-a-remettre");

  await ref.check("input[name=mode][value=contact]");
  await ref.click("text=Consigner la remise");
  assert.match(await ref.locator("main").textContent(), /indiquez à qui la copie a été remise/);
  ref.erreurs.length = 0; // la réponse 422 attendue
  await ref.goBack();
  await ref.check("input[name=mode][value=contact]");
  await ref.fill("#remis-a", "Mme Vidal, CCAS de Montpellier");
  await ref.click("text=Consigner la remise");
  await ref.waitForURL(/message=remise/);
  assert.match(await ref.locator("#remise").locator("..").textContent(), /Copie remise à son contact, Mme Vidal, CCAS de Montpellier le \d\d\/\d\d\/\d{4} — consignée par Thomas GARNIER/);
  await service.attendreEtat(jeton, reference, ["delivre"]);
  await ref.reload();
  assert.match(await ref.locator(".entete-document").textContent(), /remis aux destinataires/);
  await ref.locator("#remise").scrollIntoViewIfNeeded();
  await capture(ref, "71-copie-remise-consignee");
  assert.deepEqual(ref.erreurs, [], ref.erreurs.join("\n"));
});

test("un bilan BRSA ouvert depuis le dossier : un brouillon propre, ce qui reste à écrire nommé", async () => {
  const karim = await participant("Durand");
  await ref.goto(`${service.url}/participants/${karim}`);
  await ref.locator("button", { hasText: "Rédiger le bilan" }).first().click();
  // Le formulaire du brouillon : ce que savent le dossier et les réglages déjà rempli.
  await ref.waitForURL(/\/documents\/d-[a-z0-9]+\/modifier$/);
  const formulaire = await ref.locator("main").innerHTML();
  for (const attendu of ["ru@herault.exemple", "sdi@herault.exemple", "Karim Durand"]) assert.ok(formulaire.includes(attendu), `${attendu} absent du formulaire`);
  await capture(ref, "72-bilan-formulaire-prerempli");
  // Sa page, tant que le référent n'a rien écrit : ce qui reste à écrire, nommé.
  const reference = ref.url().match(/\/documents\/(d-[a-z0-9]+)/)[1];
  await ref.goto(`${service.url}/documents/${reference}`);
  assert.doesNotMatch(await ref.locator("main").textContent(), /erreur interne|données invalides/);
  const a_remplir = await ref.locator(".alerte.info").textContent();
  for (const champ of ["Synthèse du parcours", "Objectifs", "Suites proposées"]) assert.match(a_remplir, new RegExp(champ));
  for (const connu of ["Référent unique RSA", "Service départemental d'insertion", "Participant"]) assert.doesNotMatch(a_remplir, new RegExp(connu));
  await ref.locator("#apercu").scrollIntoViewIfNeeded();
  await capture(ref, "73-bilan-brouillon-a-completer");
  await ref.click("text=Compléter le brouillon");
  await ref.waitForURL(/\/modifier$/);
  assert.deepEqual(ref.erreurs, [], ref.erreurs.join("\n"));
});
