// Scénario 1 : un référent crée un contrat d'engagement et l'envoie ; la participante reçoit le
// courriel (vrai serveur SMTP), ouvre le lien sur une tablette, confirme le code reçu, signe au
// doigt ; le référent signe ; le PDF scellé est validé par pyHanko.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
  Service, navigateur, installer, activerParOubli, connecter, nouvellePage, capture, tracerSouris, tracerDoigt, pagesAffichees,
  lien, TABLETTE, BUREAU,
} from "../outils.js";

let service, chrome;

before(async () => {
  service = await Service.demarrer();
  chrome = await navigateur();
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

test("contrat d'engagement : créé, envoyé, signé par lien et sur place, scellé, validé par pyHanko", async () => {
  const admin = await chrome.newContext(BUREAU);
  const { jeton } = await installer(service, admin, { captures: true });

  // Le référent importé choisit son mot de passe par « mot de passe oublié », puis se connecte.
  const bureau = await chrome.newContext(BUREAU);
  const ref = await nouvellePage(bureau);
  await ref.goto(`${service.url}/connexion`);
  await capture(ref, "03-connexion");
  await activerParOubli(service, ref, "t.garnier@plie.fr");
  await ref.waitForURL(/\/accueil/);
  assert.match(await ref.locator("h1").textContent(), /Mes participants/);
  assert.equal(await ref.locator("tbody tr").count(), 2, "le portefeuille de Thomas Garnier : 2 participants");
  await capture(ref, "04-accueil-referent");
  // La page « À faire » : le questionnaire FSE d'entrée de chacun est à recueillir (opération
  // cofinancée par le FSE+) ; le bouton de la ligne ouvre le formulaire de ce moment.
  await ref.goto(`${service.url}/a-faire`);
  const questionnaires = ref.locator("tr[data-action='questionnaire_entree']");
  assert.equal(await questionnaires.count(), 2, "un questionnaire d'entrée par participant");
  await capture(ref, "04b-a-faire-questionnaire");
  await questionnaires.first().locator("a.bouton").click();
  await ref.waitForURL(/\/questionnaire\/entree$/);
  assert.match(await ref.locator("h1").textContent(), /Questionnaire FSE — entrée/);
  await capture(ref, "04c-questionnaire-entree");
  await ref.goto(`${service.url}/accueil`);
  await ref.fill("#q", "Benal");
  await ref.click("form.recherche button");
  await ref.click("text=Samira BENALI");
  await ref.waitForURL(/\/participants\//);
  assert.match(await ref.locator("#manques + *").textContent(), /manquante Contrat d'engagement signé/);
  await capture(ref, "05-dossier-participant");

  // Le formulaire généré depuis le modèle : vérification pendant la saisie, en français.
  await ref.click("a.bouton:has-text(\"Contrat d'engagement\")");
  await ref.waitForURL(/\/nouveau\/contrat-engagement/);
  await ref.fill("[name='commission.reference']", "CS-2025-02");
  await ref.locator("[name='commission.date']").focus();
  await ref.locator("[name='commission.date']").blur();
  assert.equal(await ref.locator("[data-chemin='commission.date'] .message-champ").textContent(), "champ obligatoire");
  await ref.click("form.document button[type=submit]");
  assert.match(ref.url(), /\/nouveau\/contrat-engagement$/, "un formulaire incomplet ne part pas");
  // Sans le script, le serveur (template::validate) refuse et nomme chaque champ à côté de lui.
  await Promise.all([ref.waitForNavigation(), ref.evaluate(() => document.querySelector("form.document").submit())]);
  assert.match(await ref.locator("[data-chemin='commission.date'] .message-champ").textContent(), /champ obligatoire manquant/);
  assert.match(await ref.locator(".alerte.erreur").textContent(), /champ\(s\) à corriger/);
  await capture(ref, "06-formulaire-contrat-erreurs");
  ref.erreurs.length = 0; // la réponse 422 attendue
  await ref.fill("[name='commission.date']", "2025-02-25");
  await ref.fill("[name='parcours']", "Retour à l'emploi dans la logistique : remise à niveau, permis C, immersions.");
  await ref.fill("[name='premiere_etape.intitule']", "Remise à niveau en français et calcul");
  await ref.fill("[name='premiere_etape.date']", "2025-03-17");
  await ref.fill("[name='engagements_participant']", "Venir aux rendez-vous fixés\nPrévenir en cas d'absence\nChercher activement un emploi");
  await ref.fill("[name='engagements_referent']", "Recevoir au moins deux fois par mois\nMobiliser les étapes utiles");
  await ref.fill("[name='engagements_plie']", "Financer les étapes validées");
  await ref.fill("[name='lieu_signature']", "Lunel");
  assert.equal(await ref.locator("input[name='sig.participant.methode'][value='lien']").isChecked(), true, "la participante a un courriel : lien par défaut");
  await ref.click("form.document button[type=submit]");
  await ref.waitForURL(/\/documents\/d-[a-z0-9]+\?message=cree/);
  const reference = ref.url().match(/\/documents\/(d-[a-z0-9]+)/)[1];
  await ref.locator(".pages img").first().waitFor();
  // L'aperçu : une image de page dessinée par le serveur (pas de lecteur PDF dans le navigateur).
  await ref.waitForFunction(() => { const i = document.querySelector(".pages img"); return i && i.complete && i.naturalWidth > 1000; });
  await pagesAffichees(ref);
  await capture(ref, "07-brouillon-apercu");

  await ref.click("text=Envoyer pour signature");
  await ref.waitForURL(/message=envoye/);
  assert.match(await ref.locator(".entete-document").textContent(), /envoyé pour signature/);

  // La participante, sur une tablette : lien du courriel, code, lecture, signature au doigt.
  const invitation = await service.smtp.attendre("samira.benali@exemple.fr", "/signer/");
  const tablette = await chrome.newContext(TABLETTE);
  const p = await nouvellePage(tablette);
  await p.goto(lien(invitation, "/signer/"));
  await capture(p, "08-lien-accueil-tablette");
  await p.click("text=Recevoir mon code");
  const message = await service.smtp.attendre("samira.benali@exemple.fr", "Votre code");
  const code = message.match(/code pour signer le document : (\d{6})/)[1];
  await p.fill("#code", code);
  await capture(p, "09-lien-code-tablette");
  await p.click("text=Valider le code");
  await p.locator(".pages img").first().waitFor();
  assert.equal(await p.locator("#texte-consentement").textContent(), "J'ai lu ce document et je le signe électroniquement. Je sais que ma signature, l'heure, mon adresse IP et mon appareil sont conservés comme preuve.");
  await p.click("#signer");
  assert.match(await p.locator("#erreur-signature").textContent(), /Tracez votre signature/);
  await p.locator("#pad").scrollIntoViewIfNeeded();
  await tracerDoigt(p);
  await p.check("#consentement");
  await pagesAffichees(p);
  await p.locator("#pad").scrollIntoViewIfNeeded();
  await capture(p, "10-lien-signature-tablette");
  await p.click("#signer");
  await p.waitForURL(/signature-enregistree/);
  await capture(p, "11-lien-merci");
  assert.deepEqual(p.erreurs, [], "aucune erreur dans la console (CSP, scripts)");

  // Le lien a servi : il ne rouvre plus rien.
  const encore = await p.goto(lien(invitation, "/signer/"));
  assert.equal(encore.status(), 404);

  // Le référent signe sur place, à la souris.
  await ref.goto(`${service.url}/documents/${reference}`);
  await ref.click("text=Faire signer sur la tablette");
  await ref.waitForURL(/\/signer\/1$/);
  await ref.locator("#pad").scrollIntoViewIfNeeded();
  await tracerSouris(ref);
  await ref.check("#consentement");
  await capture(ref, "12-signature-referent");
  await ref.click("#signer");
  await ref.waitForURL(/message=signe/);

  // Scellé par la boîte d'envoi, déposé, remis : le PDF est validé par pyHanko.
  const v = await service.attendreEtat(jeton, reference, ["depose", "delivre"]);
  assert.equal(v.signataires.filter((s) => s.etat === "signe").length, 2);
  await ref.reload();
  await pagesAffichees(ref);
  await capture(ref, "13-document-scelle");
  const telechargement = await Promise.all([ref.waitForEvent("download"), ref.click("text=Télécharger le PDF scellé")]);
  const pdf = path.join(service.racine, "contrat-scelle.pdf");
  await telechargement[0].saveAs(pdf);
  const rapport = execFileSync("pyhanko", ["sign", "validate",
    "--trust", path.join(service.data, "cles/ac-dev.pem"), pdf], { encoding: "utf8" });
  assert.match(rapport, /INTACT:TRUSTED/, rapport);
  assert.match(rapport, /TIMESTAMP_TOKEN<INTACT:TRUSTED>/, rapport);
  // Les preuves jointes au PDF : tracé au doigt avec la pression, consentement, code vérifié.
  const texte = fs.readFileSync(pdf).toString("latin1");
  assert.ok(texte.includes("preuves.json"), "preuves jointes au PDF/A-3");
  assert.deepEqual(ref.erreurs, [], ref.erreurs.join("\n"));
});

test("refus motivé par le lien : le document passe « refusé », le référent lit le motif", async () => {
  const bureau = await chrome.newContext(BUREAU);
  const ref = await nouvellePage(bureau);
  await ref.goto(service.url);
  await connecter(ref, "t.garnier@plie.fr");
  await ref.click("tbody >> text=Karim DURAND");
  await ref.click("a.bouton:has-text(\"Fiche de liaison — démarrage\")");
  await ref.waitForURL(/\/nouveau\/fiche-liaison-demarrage/);
  for (const champ of await ref.locator("form.document [data-requis='1']").all()) {
    if (!(await champ.isVisible()) || (await champ.inputValue())) continue;
    if (await champ.evaluate((c) => c.closest("fieldset[data-facultatif]") !== null)) continue;
    const type = await champ.getAttribute("data-type");
    const valeur = { date: "2025-04-01", heure: "09:00", email: "contact@exemple.fr", entier: "1", liste: "Premier point" }[type] || "Renseigné pour l'essai";
    if (type === "choix") await champ.selectOption({ index: 1 });
    else await champ.fill(valeur);
  }
  await ref.check("input[name='sig.referent.methode'][value='lien']");
  await ref.click("form.document button[type=submit]");
  await ref.waitForURL(/message=cree/);
  await ref.click("text=Envoyer pour signature");
  await ref.waitForURL(/message=envoye/);
  const reference = ref.url().match(/\/documents\/(d-[a-z0-9]+)/)[1];
  const invitation = await service.smtp.attendre("t.garnier@plie.fr", "Fiche de liaison");
  const tablette = await chrome.newContext(TABLETTE);
  const p = await nouvellePage(tablette);
  await p.goto(lien(invitation, "/signer/"));
  await p.click("text=Recevoir mon code");
  const message = await service.smtp.attendre("t.garnier@plie.fr", "Votre code");
  await p.fill("#code", message.match(/code pour signer le document : (\d{6})/)[1]);
  await p.click("text=Valider le code");
  await p.click("text=Je ne veux pas signer ce document");
  await p.fill("#motif", "Le plan d'action ne correspond pas à ce que nous avons décidé.");
  await p.click("text=Refuser de signer");
  await p.locator("h1", { hasText: "Refus enregistré" }).waitFor();
  await ref.goto(`${service.url}/documents/${reference}`);
  assert.match(await ref.locator(".entete-document").textContent(), /refusé/);
  assert.match(await ref.locator("#signataires + *").textContent(), /Le plan d'action ne correspond pas/);
});

test("bilans BRSA : prévus sans document, « Rédiger le bilan » ouvre le brouillon, une seule fois", async () => {
  const bureau = await chrome.newContext(BUREAU);
  const ref = await nouvellePage(bureau);
  await ref.goto(service.url);
  await connecter(ref, "t.garnier@plie.fr");
  // CER du 15/01/2025 : les trois bilans sont échus aujourd'hui, aucun n'est encore ouvert.
  assert.match(await ref.locator("#retards").textContent(), /Bilans BRSA en retard \(3\)/);
  await ref.click("#retards + ul a >> nth=0");
  await ref.waitForURL(/\/participants\/p-[a-z2-7]+#bilans$/);
  const bilans = ref.locator("ul.bilans > li");
  assert.equal(await bilans.count(), 3);
  assert.match(await bilans.nth(0).textContent(), /Bilan à 5 mois — dû le 15\/06\/2025, à rédiger\s+en retard/);
  await capture(ref, "18-bilans-prevus");
  await Promise.all([ref.waitForNavigation(), bilans.nth(0).locator("button", { hasText: "Rédiger le bilan" }).click()]);
  const brouillon = ref.url().match(/\/documents\/(d-[a-z2-7]+)\/modifier$/)[1];
  await ref.goBack();
  await ref.reload();
  assert.match(await bilans.nth(0).textContent(), /Bilan à 5 mois — dû le 15\/06\/2025\s+brouillon/i);
  assert.equal(await bilans.nth(0).locator("button").count(), 0, "un bilan ouvert ne se rouvre pas");
  assert.equal(await bilans.nth(0).locator("a").getAttribute("href"), `/documents/${brouillon}`);
  assert.equal(await ref.locator("ul.bilans button", { hasText: "Rédiger le bilan" }).count(), 2);
  // Ouverts ou non, les trois bilans échus manquent au dossier.
  const manques = await ref.locator("#manques + *").textContent();
  for (const jour of ["15/06/2025", "15/12/2025", "15/06/2026"]) {
    assert.match(manques, new RegExp(`Bilan BRSA, dû le ${jour.replaceAll("/", "\\/")}`), manques);
  }
  await capture(ref, "19-bilan-ouvert");
  assert.deepEqual(ref.erreurs, [], ref.erreurs.join("\n"));
});
