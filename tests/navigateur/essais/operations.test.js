// Issue 20 : les opérations du PLIE à l'écran. La coordinatrice crée une opération FSE+ (période
// 2025) et une opération PON 2014-2020, lit la conservation de leurs pièces, saisit le dernier
// paiement (2027 : prolongée au 31/12/2032), essaie de la raccourcir (refus en français, rien ne
// change), dépose la photo de l'affiche FSE au niveau de l'opération (la ligne des pièces
// attendues passe à « présente ») et place le gel juridique. L'assistante lit sans formulaire ;
// le référent reçoit 403.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Service, navigateur, installer, activerParOubli, nouvellePage, capture, BUREAU } from "../outils.js";

let service, chrome;

const FSE_PLUS = "202500123";
const PON = "202300871";

before(async () => {
  service = await Service.demarrer();
  chrome = await navigateur();
  const admin = await chrome.newContext(BUREAU);
  await installer(service, admin);
  service.compte("l.morel@plie.fr", "coordinateur");
  service.compte("c.roux@plie.fr", "assistant");
});

after(async () => {
  if (chrome) await chrome.close();
  if (service) await service.fermer();
});

async function connecte(email) {
  const contexte = await chrome.newContext(BUREAU);
  const page = await nouvellePage(contexte);
  await page.goto(`${service.url}/connexion`);
  await activerParOubli(service, page, email);
  return page;
}

/// Remplit le formulaire d'une opération (les champs donnés) et l'envoie ; rend le statut HTTP.
async function envoyer(page, champs) {
  for (const [nom, valeur] of Object.entries(champs)) {
    if (nom === "programme") await page.selectOption("#programme", valeur);
    else await page.fill(`#${nom}`, valeur);
  }
  const [reponse] = await Promise.all([page.waitForNavigation(), page.click("form.fiche-operation button[type=submit]")]);
  return reponse.status();
}

const ligne = (page, code) => page.locator(`tr[data-operation="${code}"]`);

test("la coordinatrice décrit deux opérations, lit leur conservation, ne peut la raccourcir et dépose l'affiche", async () => {
  const page = await connecte("l.morel@plie.fr");
  await page.click("nav >> text=Opérations");
  await page.waitForURL(/\/operations$/);

  // Une opération FSE+ sans fin de période ni dernier paiement : refusée, la saisie gardée.
  let statut = await envoyer(page, { numero: FSE_PLUS, intitule: "Accompagnement renforcé vers l'emploi 2025", programme: "fse-plus-2021-2027", cofinanceurs: "Département de l'Hérault" });
  assert.equal(statut, 422);
  assert.match(await page.locator("#fin-erreur").textContent(), /indiquez la fin de la période/);
  assert.match(await page.locator("form.fiche-operation .alerte.erreur").textContent(), /Rien n'a été enregistré/);
  assert.equal(await page.locator("#intitule").inputValue(), "Accompagnement renforcé vers l'emploi 2025");
  assert.equal(await page.locator("#programme").inputValue(), "fse-plus-2021-2027");
  assert.equal(await page.locator("#fin").getAttribute("aria-invalid"), "true");
  assert.equal(await page.locator("tr[data-operation]").count(), 1, "rien n'est écrit (seule l'opération de l'import)");
  await capture(page, "operations-01-refus");
  page.erreurs.length = 0; // la réponse 422 attendue

  // La période 2025 : créée, conservée 5 ans après le 31/12/2025 tant que le paiement manque.
  statut = await envoyer(page, { debut: "2025-01-01", fin: "2025-12-31" });
  assert.equal(statut, 200);
  assert.match(page.url(), new RegExp(`/operations/${FSE_PLUS}\\?enregistree=1$`));
  assert.match(await page.locator(".conservation-date").textContent(), /pièces conservées jusqu'au 31\/12\/2030/);
  assert.match(await page.locator(".regle").textContent(), /FSE\+ 2021-2027 : les pièces sont conservées 5 ans à compter du 31 décembre de l'année du dernier paiement ; tant qu'il n'est pas saisi/);
  assert.equal(await page.locator("#numero").getAttribute("readonly"), "");

  // Le dernier paiement, en 2027 : prolongée au 31/12/2032.
  statut = await envoyer(page, { dernier_paiement: "2027-06-30" });
  assert.equal(statut, 200);
  assert.match(await page.locator(".conservation-date").textContent(), /pièces conservées jusqu'au 31\/12\/2032/);
  assert.doesNotMatch(await page.locator(".regle").textContent(), /tant qu'il n'est pas saisi/);
  assert.match(await page.locator(".alerte.succes").textContent(), /Opération enregistrée/);
  await capture(page, "operations-02-fse-plus");

  // Un dernier paiement plus tôt la raccourcirait : refusé, en français, et rien ne change.
  statut = await envoyer(page, { dernier_paiement: "2026-03-01", intitule: "Intitulé qui ne doit pas passer" });
  assert.equal(statut, 409);
  assert.match(await page.locator("form.fiche-operation .alerte.erreur").textContent(),
    /Rien n'a été enregistré : la conservation de l'opération « 202500123 » court jusqu'au 31\/12\/2032 ; elle ne peut pas être raccourcie au 31\/12\/2031/);
  assert.equal(await page.locator("#dernier_paiement").inputValue(), "2026-03-01", "la saisie reste à corriger");
  assert.match(await page.locator(".conservation-date").textContent(), /31\/12\/2032/);
  await capture(page, "operations-03-raccourcir-refuse");
  page.erreurs.length = 0; // la réponse 409 attendue
  await page.goto(`${service.url}/operations/${FSE_PLUS}`);
  assert.equal(await page.locator("#dernier_paiement").inputValue(), "2027-06-30");
  assert.equal(await page.locator("#intitule").inputValue(), "Accompagnement renforcé vers l'emploi 2025");

  // L'opération PON 2014-2020 : jusqu'à la clôture du programme.
  await page.goto(`${service.url}/operations`);
  statut = await envoyer(page, { numero: PON, intitule: "Parcours emploi des quartiers 2020-2023", programme: "pon-2014-2020", debut: "2020-01-01", fin: "2023-12-31" });
  assert.equal(statut, 200);
  assert.match(await page.locator(".conservation-date").textContent(), /pièces conservées jusqu'au 31\/12\/2033/);
  assert.match(await page.locator(".regle").textContent(), /PON 2014-2020 : les pièces sont conservées jusqu'à la clôture du programme, fixée au 31\/12\/2033/);

  // Le même numéro une seconde fois : refusé.
  await page.goto(`${service.url}/operations`);
  statut = await envoyer(page, { numero: PON, intitule: "Doublon", programme: "pon-2014-2020" });
  assert.equal(statut, 409);
  assert.match(await page.locator("form.fiche-operation .alerte.erreur").textContent(), /l'opération « 202300871 » existe déjà/);
  page.erreurs.length = 0;

  // La liste : programme en toutes lettres, période, cofinanceurs, dernier paiement, conservation.
  await page.goto(`${service.url}/operations`);
  const plus = await ligne(page, FSE_PLUS).textContent();
  for (const attendu of ["FSE+ 2021-2027", "du 01/01/2025 au 31/12/2025", "Département de l'Hérault", "30/06/2027", "pièces conservées jusqu'au 31/12/2032"]) {
    assert.ok(plus.includes(attendu), `${attendu} absent de : ${plus}`);
  }
  const pon = await ligne(page, PON).textContent();
  for (const attendu of ["PON Emploi et Inclusion 2014-2020", "du 01/01/2020 au 31/12/2023", "pièces conservées jusqu'au 31/12/2033"]) {
    assert.ok(pon.includes(attendu), `${attendu} absent de : ${pon}`);
  }
  await capture(page, "operations-04-liste");

  // La photo de l'affiche FSE, déposée au niveau de l'opération : la ligne passe à « présente ».
  await page.goto(`${service.url}/operations/${FSE_PLUS}`);
  const affiche = page.locator("#pieces li[data-exigence=affiche-fse]");
  assert.equal(await affiche.getAttribute("data-etat"), "manquant");
  const types = await page.locator("#genre option").allTextContents();
  assert.ok(types.some((t) => t.startsWith("Photo de l'affiche FSE en place")), types.join(" | "));
  assert.ok(types.some((t) => t.startsWith("Convention de l'opération")), types.join(" | "));
  assert.ok(!types.some((t) => t.startsWith("Bulletin de salaire")), "un type du participant n'est pas proposé");
  await page.selectOption("#genre", "photo-affiche-fse");
  await page.setInputFiles("#fichier", { name: "affiche-hall.png", mimeType: "image/png", buffer: await page.screenshot() });
  await Promise.all([page.waitForNavigation(), page.click("form.depot button[type=submit]")]);
  assert.match(await page.locator(".alerte.succes").textContent(), /déposée au coffre/);
  assert.equal(await affiche.getAttribute("data-etat"), "present");
  assert.match(await affiche.textContent(), /présente.*affiche-hall\.png/s);
  await capture(page, "operations-05-affiche-deposee");

  // Le gel juridique, pendant un contrôle : placé puis levé.
  await Promise.all([page.waitForNavigation(), page.click("text=Placer le gel juridique")]);
  assert.match(await page.locator("#etat-gel").textContent(), /gel juridique en place/);
  await capture(page, "operations-06-gel");
  page.once("dialog", (d) => d.accept());
  await Promise.all([page.waitForNavigation(), page.click("text=Lever le gel juridique")]);
  assert.match(await page.locator("#etat-gel").textContent(), /pas de gel juridique/);

  assert.deepEqual(page.erreurs, [], page.erreurs.join("\n"));
});

test("l'assistante lit les opérations sans formulaire ; le référent n'y a pas accès", async () => {
  const assistante = await connecte("c.roux@plie.fr");
  assert.equal(await assistante.locator("nav >> text=Opérations").count(), 0);
  const liste = await assistante.goto(`${service.url}/operations`);
  assert.equal(liste.status(), 200);
  assert.equal(await ligne(assistante, FSE_PLUS).count(), 1);
  assert.equal(await assistante.locator("form.fiche-operation").count(), 0);
  await capture(assistante, "operations-07-assistante-liste");
  await assistante.goto(`${service.url}/operations/${FSE_PLUS}`);
  assert.match(await assistante.locator(".conservation-date").textContent(), /31\/12\/2032/);
  assert.match(await assistante.locator("dl.fiche").textContent(), /30\/06\/2027/);
  assert.equal(await assistante.locator("main form").count(), 0, "pas de bouton");
  assert.equal(await assistante.locator("main button").count(), 0, "pas de bouton");
  await capture(assistante, "operations-08-assistante-fiche");
  assert.deepEqual(assistante.erreurs, [], assistante.erreurs.join("\n"));

  const referent = await connecte("t.garnier@plie.fr");
  assert.equal(await referent.locator("nav >> text=Opérations").count(), 0);
  for (const chemin of ["/operations", `/operations/${FSE_PLUS}`]) {
    const r = await referent.goto(`${service.url}${chemin}`);
    assert.equal(r.status(), 403, chemin);
    assert.match(await referent.locator("h1").textContent(), /Accès refusé/);
    assert.match(await referent.locator(".alerte.erreur").textContent(), /votre rôle ne permet pas cette action/);
  }
  await capture(referent, "operations-09-referent-403");
});
