// Issue 20 : les réglages du PLIE à l'écran. La coordinatrice remplit la fiche du PLIE (une
// adresse e-mail fausse est refusée en français à côté du champ, rien d'écrit, la saisie
// gardée), ajoute le Département de l'Hérault avec les adresses du Référent unique et du SDI
// puis le modifie, et choisit la commune pour distinguer les homonymes. L'assistante et le
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

  // Le repère des homonymes, dit en mots.
  assert.ok(await page.isChecked("input[name=homonymes][value=annee_naissance]"), "l'année de naissance par défaut");
  await page.check("input[name=homonymes][value=commune]");
  assert.equal(await envoyer(page, "form:has(input[value=homonymes]) button[type=submit]"), 200);
  assert.match(await page.locator(".alerte.succes").textContent(), /Repère des homonymes enregistré/);
  assert.ok(await page.isChecked("input[name=homonymes][value=commune]"));
  await capture(page, "reglages-04-enregistres");
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
    if (email.startsWith("c.roux")) await capture(page, "reglages-05-assistante-refusee");
  }
});
