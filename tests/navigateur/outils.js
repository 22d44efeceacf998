// Outils des essais de bout en bout : un vrai `parafe serve` sur la boucle locale, un vrai
// serveur SMTP (aiosmtpd, tests/support/smtp.py), et Chromium de Debian piloté par
// playwright-core. Chaque fichier d'essais démarre son propre service dans un dossier neuf.

import { spawn, execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const DEPOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BINAIRE = process.env.PARAFE_BIN || path.join(DEPOT, "target/debug/parafe");
export const CAPTURES = path.join(DEPOT, "target/captures");
export const MOT_DE_PASSE = "une phrase de passe assez longue";
export const CONSENTEMENT =
  "J'ai lu ce document et je le signe électroniquement. Je sais que ma signature, l'heure, mon adresse IP et mon appareil sont conservés comme preuve.";

export const TABLETTE = { locale: "fr-FR", timezoneId: "Europe/Paris", viewport: { width: 800, height: 1280 }, hasTouch: true, isMobile: true, deviceScaleFactor: 1,
  userAgent: "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36 parafe-essais" };
export const TABLETTE_PAYSAGE = { ...TABLETTE, viewport: { width: 1280, height: 800 } };
/// Un téléphone (390 × 844, écran à densité 2, tactile) : la signature sur son propre téléphone.
export const TELEPHONE = { locale: "fr-FR", timezoneId: "Europe/Paris", viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2,
  userAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36 parafe-essais" };
export const BUREAU = { locale: "fr-FR", timezoneId: "Europe/Paris", viewport: { width: 1366, height: 900 } };

export function attendre(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function portLibre() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/// Lit les lignes d'un flux jusqu'à ce que `test` en reconnaisse une (délai en ms).
function premiereLigne(flux, test, delai, quoi) {
  return new Promise((resolve, reject) => {
    const lignes = createInterface({ input: flux });
    const vu = [];
    const t = setTimeout(() => reject(new Error(`${quoi} : rien après ${delai} ms\n${vu.join("\n")}`)), delai);
    lignes.on("line", (l) => {
      vu.push(l);
      const r = test(l);
      if (r) { clearTimeout(t); resolve(r); }
    });
  });
}

export class Smtp {
  static async demarrer(dossier) {
    const s = new Smtp();
    s.dossier = dossier;
    s.processus = spawn("python3", [path.join(DEPOT, "tests/support/smtp.py"), dossier], { stdio: ["ignore", "pipe", "inherit"] });
    s.port = Number(await premiereLigne(s.processus.stdout, (l) => l.startsWith("PORT ") && l.slice(5), 20000, "serveur SMTP (aiosmtpd)"));
    return s;
  }
  courriels() {
    if (!fs.existsSync(this.dossier)) return [];
    return fs.readdirSync(this.dossier)
      .filter((n) => /^\d+\.txt$/.test(n))
      .sort((a, b) => parseInt(a) - parseInt(b))
      .map((n) => fs.readFileSync(path.join(this.dossier, n), "utf8"));
  }
  /// Le dernier message pour `destinataire` contenant `texte` (attend jusqu'à 30 s).
  async attendre(destinataire, texte, deja = 0) {
    const debut = Date.now();
    for (;;) {
      const trouves = this.courriels().filter((m) => m.split("\n")[0].includes(destinataire) && m.includes(texte));
      if (trouves.length > deja) return trouves[trouves.length - 1];
      if (Date.now() - debut > 30000) throw new Error(`aucun courriel pour ${destinataire} contenant « ${texte} »`);
      await attendre(100);
    }
  }
  arreter() { this.processus.kill(); }
}

/// Extrait le premier lien d'un courriel commençant par `chemin` (`/signer/`, `/compte/`).
export function lien(courriel, chemin) {
  const m = courriel.match(new RegExp(`https?://[^\\s]*${chemin}[a-z0-9]+`));
  if (!m) throw new Error(`pas de lien ${chemin} dans :\n${courriel}`);
  return m[0];
}

export class Service {
  static async demarrer({ horloge, nomPlie = "PLIE du Pays de l'Or" } = {}) {
    const s = new Service();
    s.racine = fs.mkdtempSync(path.join(os.tmpdir(), "parafe-navigateur-"));
    s.data = path.join(s.racine, "data");
    fs.mkdirSync(s.data);
    s.smtp = await Smtp.demarrer(path.join(s.racine, "smtp"));
    s.port = await portLibre();
    s.url = `http://127.0.0.1:${s.port}`;
    fs.writeFileSync(path.join(s.data, "parafe.toml"),
      `[service]\necoute = "127.0.0.1:${s.port}"\nworkflows = "${path.join(DEPOT, "workflows")}"\nplie = "plie-test"\nnom_plie = "${nomPlie}"\n\n` +
      `[courriel]\nsmtp = "127.0.0.1:${s.smtp.port}"\nexpediteur = "PLIE <plie@exemple.fr>"\n`);
    await s.lancer(horloge);
    return s;
  }

  async lancer(horloge) {
    const env = { ...process.env, PARAFE_LOG: "warn" };
    if (horloge) env.PARAFE_HORLOGE = horloge;
    this.processus = spawn(BINAIRE, ["serve", "--data-dir", this.data], { env, stdio: ["ignore", "pipe", "pipe"] });
    this.journal = [];
    const erreurs = createInterface({ input: this.processus.stderr });
    this.lienAdmin = new Promise((resolve) => {
      erreurs.on("line", (l) => {
        this.journal.push(l);
        fs.appendFileSync(path.join(this.racine, "parafe.log"), l + "\n");
        const m = l.match(/première connexion de l'administrateur : (\S+)/);
        if (m) resolve(m[1]);
      });
    });
    await premiereLigne(this.processus.stdout, (l) => l.includes("écoute sur"), 60000, "parafe serve");
    this.processus.stdout.resume();
  }

  async arreter() {
    if (this.processus && this.processus.exitCode === null) {
      const fin = new Promise((r) => this.processus.once("exit", r));
      this.processus.kill("SIGKILL");
      await fin;
    }
  }

  async redemarrer(horloge) {
    await this.arreter();
    await this.lancer(horloge);
  }

  async fermer() {
    await this.arreter();
    this.smtp.arreter();
    // PARAFE_GARDER=1 garde le dossier (données, courriels, journal du service) pour enquêter.
    if (!process.env.PARAFE_GARDER) fs.rmSync(this.racine, { recursive: true, force: true });
  }

  /// `parafe comptes ajouter` (compte et jeton d'API, dans un PLIE au choix).
  compte(email, role, plie) {
    const args = ["comptes", "ajouter", "--data-dir", this.data, "--email", email, "--nom", "Essai", "--prenom", "Compte", "--role", role, "--jeton"];
    if (plie) args.push("--plie", plie);
    const sortie = execFileSync(BINAIRE, args, { encoding: "utf8" });
    return sortie.trim().split("\n").pop().trim();
  }

  async api(methode, chemin, jeton, corps, type = "application/json") {
    const r = await fetch(`${this.url}${chemin}`, {
      method: methode,
      headers: { Authorization: `Bearer ${jeton}`, ...(corps !== undefined ? { "Content-Type": type } : {}) },
      body: corps === undefined ? undefined : type === "application/json" ? JSON.stringify(corps) : corps,
    });
    const texte = await r.text();
    let json = null;
    try { json = JSON.parse(texte); } catch (_) { /* pas du JSON */ }
    return { statut: r.status, json, texte };
  }

  async attendreEtat(jeton, reference, etats, delai = 60000) {
    const debut = Date.now();
    for (;;) {
      const r = await this.api("GET", `/api/documents/${reference}`, jeton);
      const etat = r.json && r.json.document && r.json.document.etat;
      if (etats.includes(etat)) return r.json;
      if (Date.now() - debut > delai) throw new Error(`${reference} reste « ${etat} » (attendu ${etats.join(" ou ")})`);
      await attendre(100);
    }
  }
}

export async function navigateur() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--lang=fr-FR", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/// Capture d'écran pleine page dans target/captures/.
export async function capture(page, nom) {
  fs.mkdirSync(CAPTURES, { recursive: true });
  await page.screenshot({ path: path.join(CAPTURES, `${nom}.png`), fullPage: true });
}

/// Attend que toutes les pages du document (images dessinées par le serveur) soient affichées.
export async function pagesAffichees(page) {
  for (const img of await page.locator(".pages img").all()) await img.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => [...document.querySelectorAll(".pages img")].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 30000 });
  await page.evaluate(() => window.scrollTo(0, 0));
}

/// Une page qui échoue au premier message d'erreur de la console (CSP violée, script cassé).
export async function nouvellePage(contexte) {
  const page = await contexte.newPage();
  page.erreurs = [];
  page.on("console", (m) => { if (m.type() === "error") page.erreurs.push(m.text()); });
  page.on("pageerror", (e) => page.erreurs.push(String(e)));
  return page;
}

/// Trace une signature avec de vrais événements de pointeur (souris) dans le canvas.
export async function tracerSouris(page, selecteur = "#pad") {
  const zone = await page.locator(selecteur).boundingBox();
  const x = (f) => zone.x + zone.width * f;
  const y = (f) => zone.y + zone.height * f;
  await page.mouse.move(x(0.1), y(0.7));
  await page.mouse.down();
  for (const [a, b] of [[0.2, 0.3], [0.3, 0.75], [0.4, 0.35], [0.5, 0.7], [0.6, 0.4]]) await page.mouse.move(x(a), y(b), { steps: 6 });
  await page.mouse.up();
  await page.mouse.move(x(0.65), y(0.55));
  await page.mouse.down();
  await page.mouse.move(x(0.9), y(0.5), { steps: 8 });
  await page.mouse.up();
}

/// Trace une signature au doigt : événements tactiles (Chromium en fait des événements de
/// pointeur `touch`, avec la pression de l'appui).
export async function tracerDoigt(page, selecteur = "#pad", graine = 0) {
  const zone = await page.locator(selecteur).boundingBox();
  const cdp = await page.context().newCDPSession(page);
  const pt = (fx, fy, force) => ({ x: zone.x + zone.width * fx, y: zone.y + zone.height * fy, force, radiusX: 4, radiusY: 4 });
  const d = (graine % 5) * 0.02;
  const points = [[0.12, 0.65], [0.22 + d, 0.3], [0.32, 0.72 - d], [0.45, 0.35], [0.55 + d, 0.68], [0.7, 0.4], [0.85, 0.55]];
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [pt(...points[0], 0.3)] });
  for (let i = 1; i < points.length; i++) {
    const [a, b] = points[i - 1], [c, e] = points[i];
    for (let k = 1; k <= 4; k++) {
      await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [pt(a + (c - a) * k / 4, b + (e - b) * k / 4, 0.3 + 0.5 * k / 4)] });
    }
  }
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await cdp.detach();
}

export const EXTRACTION = [
  "Identifiant;Civilité;Nom;Prénom;Date de naissance;Email;Téléphone;Code postal;Commune;Département;Email référent;Nom référent;Prénom référent;Opération;Prescripteur;Email prescripteur;Date d'entrée;RSA;Début CER;Date de sortie;Motif de sortie",
  "P-2025-0412;Madame;Benali;Samira;12/05/1988;samira.benali@exemple.fr;0601020304;34400;Lunel;34;t.garnier@plie.fr;Garnier;Thomas;202500417;France Travail Lunel;conseil@francetravail.exemple;04/03/2025;Non;;;",
  "P-2025-0413;Monsieur;Durand;Karim;01/02/1979;karim.durand@exemple.fr;;34130;Mauguio;34;t.garnier@plie.fr;Garnier;Thomas;202500417;Département de l'Hérault;sdi@herault.exemple;20/01/2025;Oui;15/01/2025;;",
  "P-2025-0420;Madame;Roux;Claire;03/03/1990;claire.roux@exemple.fr;;34000;Montpellier;34;m.lefort@plie.fr;Lefort;Marion;202500417;CCAS Montpellier;;10/02/2025;Non;;;",
].join("\n") + "\n";

export function fichePlie() {
  const exemple = JSON.parse(fs.readFileSync(path.join(DEPOT, "document-templates/examples/contrat-engagement.json"), "utf8"));
  return exemple.plie;
}

/// Premier démarrage : l'administrateur ouvre le lien du journal, choisit son mot de passe et se
/// connecte ; il crée un jeton d'API (écran des jetons) qui sert à importer la fiche du PLIE et
/// les participants. Rend { page, jeton }.
export async function installer(service, contexte, { captures = false } = {}) {
  const page = await nouvellePage(contexte);
  await page.goto(await service.lienAdmin);
  if (captures) await capture(page, "01-activation-administrateur");
  await page.fill("#prenom", "Nadia");
  await page.fill("#nom", "Admin");
  await page.fill("#email", "admin@plie.fr");
  await page.fill("#mot_de_passe", MOT_DE_PASSE);
  await page.fill("#confirmation", MOT_DE_PASSE);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/connexion/);
  await connecter(page, "admin@plie.fr");
  await page.goto(`${service.url}/admin/jetons`);
  await page.fill("#libelle", "import du logiciel de parcours");
  await page.click("form[action='/admin/jetons'] button[type=submit]");
  const jeton = (await page.locator("#nouveau-jeton").textContent()).trim();
  if (captures) await capture(page, "02-jetons-api");
  let r = await service.api("PUT", "/api/plie", jeton, fichePlie());
  if (r.statut !== 200) throw new Error(`fiche du PLIE : ${r.statut} ${r.texte}`);
  r = await service.api("POST", "/api/participants/import", jeton, EXTRACTION, "text/csv");
  if (r.statut !== 200) throw new Error(`import : ${r.statut} ${r.texte}`);
  // L'opération que l'import a nommée, décrite comme le coordinateur le fait ensuite : aucun
  // document de ses participants ne part avant.
  r = await service.api("PUT", "/api/operations/202500417", jeton, { intitule: "Accompagnement renforcé vers l'emploi 2025-2026", programme: "fse-plus-2021-2027", debut: "2025-01-01", fin: "2026-12-31" });
  if (r.statut !== 200) throw new Error(`opération : ${r.statut} ${r.texte}`);
  return { page, jeton };
}

export async function connecter(page, email, motDePasse = MOT_DE_PASSE) {
  await page.goto(new URL("/connexion", page.url()).href);
  await page.fill("#email", email);
  await page.fill("#mot_de_passe", motDePasse);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
}

/// Un compte importé (sans mot de passe) reçoit un lien par « mot de passe oublié » et le choisit.
export async function activerParOubli(service, page, email) {
  await page.goto(`${service.url}/mot-de-passe-oublie`);
  await page.fill("#email", email);
  await page.click("button[type=submit]");
  const m = await service.smtp.attendre(email, "/compte/");
  await page.goto(lien(m, "/compte/"));
  await page.fill("#mot_de_passe", MOT_DE_PASSE);
  await page.fill("#confirmation", MOT_DE_PASSE);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await connecter(page, email);
}

/// Sur la tablette du kiosque : la personne touche son bouton (son nom, ou le bouton lui-même),
/// trace sa signature au doigt, consent et signe ; la liste revient.
export async function signerSurLaTablette(page, bouton, graine) {
  const cible = typeof bouton === "string" ? page.locator("button.present", { hasText: bouton }) : bouton;
  await cible.click();
  await page.locator("#panneau").waitFor({ state: "visible" });
  await tracerDoigt(page, "#pad", graine);
  await page.check("#consentement");
  await page.click("#signer");
  await page.locator("#liste").waitFor({ state: "visible" });
}
