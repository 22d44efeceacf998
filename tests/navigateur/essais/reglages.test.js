// Issue 20 : les réglages du PLIE à l'écran. La coordinatrice remplit la fiche du PLIE (une
// adresse e-mail fausse est refusée en français à côté du champ, rien d'écrit, la saisie
// gardée), ajoute le Département de l'Hérault avec les adresses du Référent unique et du SDI
// puis le modifie (le retirer est refusé : des participants en relèvent ; un Département ajouté
// par erreur se retire), choisit la commune pour distinguer les homonymes, et dépose le logo
// du PLIE (un fichier qui n'est pas une image refusé), puis le retire. L'assistante et le
// référent ne voient ni le lien ni les écrans (403), pas plus que l'import.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Service, navigateur, installer, activerParOubli, nouvellePage, capture, BUREAU } from "../outils.js";

let service, chrome;

before(async () => {
  service = await Service.demarrer();
  chrome = await navigateur();
  await installer(service, await chrome.newContext(BUREAU));
  service.compte("coordination@plie.fr", "coordinateur");
  service.compte("c.roux@plie.fr", "assistant");
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

/// Les erreurs de la console, hors les refus attendus (4xx) que le navigateur signale aussi.
const inattendues = (page) => page.erreurs.filter((e) => !/status of 4\d\d/.test(e));

/// Envoie le formulaire qui contient `bouton` ; rend le statut HTTP de la page reçue.
async function envoyer(page, bouton) {
  const [reponse] = await Promise.all([page.waitForNavigation(), page.click(bouton)]);
  return reponse.status();
}

test("la coordinatrice tient la fiche du PLIE, ses Départements et le repère des homonymes", async () => {
  const page = await nouvellePage(await chrome.newContext(BUREAU));
  await page.goto(`${service.url}/connexion`);
  await activerParOubli(service, page, "coordination@plie.fr");
  await page.click("nav >> text=Réglages");
  await page.waitForURL(/\/reglages$/);
  // La fiche enregistrée à l'installation est reprise dans le formulaire.
  const nomAvant = await page.inputValue("#c-plie-nom");
  assert.ok(nomAvant.length > 0, "la fiche enregistrée est reprise");
  await capture(page, "reglages-01-ecran");

  // Fiche : une adresse e-mail fausse est refusée à côté de son champ, rien n'est écrit.
  await page.fill("#c-plie-nom", "PLIE du Pays de l'Or et de Lunel");
  await page.fill("#c-plie-structure", "Maison de l'emploi du Pays de l'Or");
  await page.fill("#c-plie-adresse-rue", "12 avenue de la Gare");
  await page.fill("#c-plie-adresse-code-postal", "34400");
  await page.fill("#c-plie-adresse-commune", "Lunel");
  await page.fill("#c-plie-telephone", "04 67 00 00 00");
  await page.fill("#c-plie-email", "accueil.plie-lunel.fr");
  assert.equal(await envoyer(page, "form:has(input[value=fiche]) button[type=submit]"), 422);
  assert.match(await page.locator("[data-chemin='plie.email'] .message-champ").textContent(), /« accueil\.plie-lunel\.fr » n'est pas une adresse e-mail valide/);
  assert.match(await page.locator(".alerte.erreur").textContent(), /Rien n'a été enregistré/);
  assert.equal(await page.inputValue("#c-plie-nom"), "PLIE du Pays de l'Or et de Lunel", "la saisie est gardée");
  assert.equal(await page.getAttribute("#c-plie-email", "aria-invalid"), "true");
  await capture(page, "reglages-02-fiche-refusee");
  await page.goto(`${service.url}/reglages`);
  assert.equal(await page.inputValue("#c-plie-nom"), nomAvant, "rien n'a été écrit");

  await page.fill("#c-plie-nom", "PLIE du Pays de l'Or et de Lunel");
  await page.fill("#c-plie-adresse-commune", "Lunel");
  await page.fill("#c-plie-email", "accueil@plie-lunel.fr");
  assert.equal(await envoyer(page, "form:has(input[value=fiche]) button[type=submit]"), 200);
  assert.match(await page.locator(".alerte.succes").textContent(), /Fiche du PLIE enregistrée/);
  assert.equal(await page.inputValue("#c-plie-nom"), "PLIE du Pays de l'Or et de Lunel");
  assert.equal(await page.inputValue("#c-plie-email"), "accueil@plie-lunel.fr");

  // Un Département : une adresse du SDI fausse est refusée, puis le Département enregistré.
  await page.fill("#dep-code", "34");
  await page.fill("#dep-nom", "Hérault");
  await page.fill("#dep-email_referent_unique", "referent-unique@herault.exemple");
  await page.fill("#dep-email_sdi", "sdi-herault.exemple");
  await page.fill("#dep-bilans_mois", "6, 12, 18");
  assert.equal(await envoyer(page, "form:has(input[value=departement]) button[type=submit]"), 422);
  assert.match(await page.locator("#dep-email_sdi-erreur").textContent(), /« sdi-herault\.exemple » n'est pas une adresse e-mail/);
  assert.equal(await page.inputValue("#dep-bilans_mois"), "6, 12, 18", "la saisie est gardée");
  assert.match(await page.locator("#departements").locator("..").textContent(), /Aucun Département/);
  await capture(page, "reglages-03-departement-refuse");
  await page.fill("#dep-email_sdi", "sdi@herault.exemple");
  assert.equal(await envoyer(page, "form:has(input[value=departement]) button[type=submit]"), 200);
  assert.match(await page.locator(".alerte.succes").textContent(), /Département 34 enregistré/);
  const ligne = page.locator("tbody tr", { hasText: "Hérault" });
  assert.match(await ligne.textContent(), /referent-unique@herault\.exemple.*sdi@herault\.exemple.*6, 12, 18 mois/s);

  // Modifié : le formulaire reprend le Département, les mois reviennent à ceux du workflow.
  await Promise.all([page.waitForNavigation(), ligne.locator("text=Modifier").click()]);
  assert.equal(await page.inputValue("#dep-email_sdi"), "sdi@herault.exemple");
  await page.fill("#dep-bilans_mois", "");
  assert.equal(await envoyer(page, "form:has(input[value=departement]) button[type=submit]"), 200);
  assert.match(await page.locator("tbody tr", { hasText: "Hérault" }).textContent(), /ceux du workflow/);

  // Retirer : refusé pour l'Hérault, dont relèvent les participants importés ; accepté pour un
  // Département ajouté par erreur.
  assert.equal(await envoyer(page, "tbody tr:has-text('Hérault') button:has-text('Retirer')"), 422);
  assert.match(await page.locator(".alerte.erreur").textContent(), /le Département 34 ne peut pas être retiré : \d+ participant\(s\) en relèvent/);
  assert.equal(await page.locator("tbody tr", { hasText: "Hérault" }).count(), 1);
  await page.goto(`${service.url}/reglages`);
  await page.fill("#dep-code", "30");
  await page.fill("#dep-nom", "Gard");
  await page.fill("#dep-email_referent_unique", "ru@gard.exemple");
  await page.fill("#dep-email_sdi", "sdi@gard.exemple");
  assert.equal(await envoyer(page, "form:has(input[value=departement]) button[type=submit]"), 200);
  assert.equal(await page.locator("tbody tr", { hasText: "Gard" }).count(), 1);
  assert.equal(await envoyer(page, "tbody tr:has-text('Gard') button:has-text('Retirer')"), 200);
  assert.match(await page.locator(".alerte.succes").textContent(), /Département 30 retiré/);
  assert.equal(await page.locator("tbody tr", { hasText: "Gard" }).count(), 0);
  assert.equal(await page.locator("tbody tr", { hasText: "Hérault" }).count(), 1);

  // Le repère des homonymes, dit en mots.
  assert.ok(await page.isChecked("input[name=homonymes][value=annee_naissance]"), "l'année de naissance par défaut");
  await page.check("input[name=homonymes][value=commune]");
  assert.equal(await envoyer(page, "form:has(input[value=homonymes]) button[type=submit]"), 200);
  assert.match(await page.locator(".alerte.succes").textContent(), /Repère des homonymes enregistré/);
  assert.ok(await page.isChecked("input[name=homonymes][value=commune]"));
  await capture(page, "reglages-04-enregistres");

  // Le logo : un fichier qui n'est pas une image est refusé ; une image dessinée ici (capture
  // d'un bloc de la page) est reçue, montrée, puis retirée.
  await page.setInputFiles("#fichier-logo", { name: "logo.png", mimeType: "image/png", buffer: Buffer.from("pas une image") });
  assert.equal(await envoyer(page, "form[action='/reglages/logo'] button[type=submit]"), 422);
  assert.match(await page.locator(".alerte.erreur").textContent(), /Rien n'a été enregistré : le logo doit être une image PNG ou JPEG/);
  const dessin = await nouvellePage(await chrome.newContext(BUREAU));
  await dessin.setContent(`<div id="logo" style="display:inline-flex;align-items:center;gap:12px;padding:10px 18px;font:bold 40px sans-serif;color:#fff;background:#0b6e4f;border-radius:14px">◆ PLIE Lunel</div>`);
  const image = await dessin.locator("#logo").screenshot();
  await page.setInputFiles("#fichier-logo", { name: "logo-plie.png", mimeType: "image/png", buffer: image });
  assert.equal(await envoyer(page, "form[action='/reglages/logo'] button[type=submit]"), 200);
  assert.match(await page.locator(".alerte.succes").textContent(), /Logo enregistré : les prochains documents le porteront/);
  assert.ok(await page.locator("img.logo-plie").evaluate((i) => i.complete && i.naturalWidth > 0), "le logo s'affiche");
  await page.locator("#logo").scrollIntoViewIfNeeded();
  await capture(page, "reglages-05-logo");
  assert.equal(await envoyer(page, "form[action='/reglages/logo/retrait'] button[type=submit]"), 200);
  assert.match(await page.locator(".alerte.succes").textContent(), /Logo retiré/);
  assert.equal(await page.locator("img.logo-plie").count(), 0);
  assert.deepEqual(inattendues(page), [], page.erreurs.join("\n"));
});

test("l'assistante et le référent n'ont ni les réglages ni l'import", async () => {
  for (const email of ["c.roux@plie.fr", "t.garnier@plie.fr"]) {
    const page = await nouvellePage(await chrome.newContext(BUREAU));
    await page.goto(`${service.url}/connexion`);
    await activerParOubli(service, page, email);
    await page.goto(`${service.url}/accueil`);
    assert.equal(await page.locator("nav >> text=Réglages").count(), 0, email);
    assert.equal(await page.locator("a[href='/participants/import']").count(), 0, email);
    for (const chemin of ["/reglages", "/participants/import"]) {
      const r = await page.goto(`${service.url}${chemin}`);
      assert.equal(r.status(), 403, `${email} ${chemin}`);
    }
    if (email.startsWith("c.roux")) await capture(page, "reglages-06-assistante-refusee");
  }
});
