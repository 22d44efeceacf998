// Kiosque d'émargement : la tablette n'affiche que la feuille. Chaque signature est d'abord
// rangée sur la tablette (localStorage), puis envoyée avec une clé d'idempotence ; sans réseau,
// elles attendent et partent au retour de la connexion, dans l'ordre, sans doublon.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const etat = JSON.parse(document.getElementById("donnees-kiosque").textContent);
  const CLE = `parafe-kiosque-${etat.ref}`;
  const base = `/kiosque/${etat.ref}`;
  const liste = document.getElementById("liste");
  const panneau = document.getElementById("panneau");
  const form = document.getElementById("formulaire-kiosque");
  const titre = document.getElementById("titre-signature");
  const nouveau = document.getElementById("nouveau-present");
  const erreur = document.getElementById("erreur-signature");
  const consentement = document.getElementById("consentement");
  const reseau = document.getElementById("etat-reseau");
  const presents = document.getElementById("presents");
  let pad = null;
  let mode = null;
  let enCours = false;
  let minuterie = null;

  const file = () => { try { return JSON.parse(localStorage.getItem(CLE) || "[]"); } catch (_) { return []; } };
  const garder = (f) => localStorage.setItem(CLE, JSON.stringify(f));
  const cle = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`);

  function afficherReseau(message, horsLigne) {
    reseau.textContent = message;
    reseau.classList.toggle("hors-ligne", !!horsLigne);
  }

  function marquer() {
    const attente = file();
    for (const b of presents.querySelectorAll("button.present[data-id]")) {
      const id = Number(b.dataset.id);
      const s = etat.signataires.find((x) => x.id === id);
      const enAttente = attente.some((e) => e.corps.signataire === id);
      b.classList.toggle("en-attente-envoi", enAttente);
      b.disabled = enAttente || (s && s.etat === "signe");
      b.querySelector(".etat").textContent = enAttente ? "signé ✓ (envoi en attente)" : s && s.etat === "signe" ? "signé ✓" : "à signer";
    }
    for (const li of presents.querySelectorAll("li.nouveau-local")) li.remove();
    for (const e of attente.filter((e) => e.corps.nouveau)) {
      const li = document.createElement("li");
      li.className = "nouveau-local";
      const b = document.createElement("button");
      b.type = "button"; b.className = "present en-attente-envoi"; b.disabled = true;
      const n = document.createElement("span"); n.className = "nom"; n.textContent = `${e.corps.nouveau.prenom} ${e.corps.nouveau.nom.toUpperCase()}`;
      const s = document.createElement("span"); s.className = "etat"; s.textContent = "signé ✓ (envoi en attente)";
      b.append(n, s); li.append(b); presents.append(li);
    }
    // Qui a signé (ou dont la signature attend le réseau) n'a plus de QR code à montrer.
    const telephones = document.getElementById("telephones");
    if (telephones) {
      for (const li of telephones.querySelectorAll("li[data-id]")) {
        const id = Number(li.dataset.id);
        const s = etat.signataires.find((x) => x.id === id);
        li.hidden = (s && s.etat === "signe") || attente.some((e) => e.corps.signataire === id);
      }
      telephones.hidden = !telephones.querySelector("li[data-id]:not([hidden])");
    }
    if (attente.length) afficherReseau(`${attente.length} signature(s) gardée(s) sur la tablette, en attente d'envoi…`, !navigator.onLine);
  }

  function ajouterBouton(s) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button"; b.className = "present"; b.dataset.id = String(s.id);
    const n = document.createElement("span"); n.className = "nom"; n.textContent = s.nom;
    const e = document.createElement("span"); e.className = "etat";
    b.append(n, e); li.append(b); presents.append(li);
  }

  async function rafraichir() {
    try {
      const r = await fetch(`${base}/etat`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!r.ok) return;
      const v = await r.json();
      etat.signataires = v.signataires;
      for (const s of v.signataires.filter((x) => x.role === "participant")) {
        if (!presents.querySelector(`button[data-id="${s.id}"]`)) ajouterBouton(s);
      }
      marquer();
    } catch (_) { /* hors ligne : la liste locale reste */ }
  }

  function ouvrir(m) {
    mode = m;
    erreur.textContent = "";
    consentement.checked = false;
    nouveau.hidden = m.type !== "nouveau";
    // Closing a workshop: who did not sign is absent; the animator ticks those excused.
    const absents = document.getElementById("absents");
    if (absents) {
      const attente = file();
      const manquent = m.type === "cloture" ? etat.signataires.filter((x) => x.role === "participant" && x.etat !== "signe" && !attente.some((e) => e.corps.signataire === x.id)) : [];
      absents.hidden = !manquent.length;
      const ul = absents.querySelector("ul");
      ul.replaceChildren();
      for (const x of manquent) {
        const li = document.createElement("li");
        const label = document.createElement("label");
        const c = document.createElement("input");
        c.type = "checkbox"; c.name = "excuse"; c.value = String(x.id);
        label.append(c, ` ${x.nom} — absence excusée`);
        li.append(label); ul.append(li);
      }
    }
    titre.textContent = m.type === "nouveau" ? "Signature de la personne ajoutée" : `Signature de ${m.nom}`;
    liste.hidden = true;
    panneau.hidden = false;
    if (!pad) {
      pad = new window.PadSignature(document.getElementById("pad"));
      pad.surChangement(() => { if (!pad.vide()) erreur.textContent = ""; });
    }
    pad.redimensionner();
    pad.effacer();
    window.scrollTo(0, 0);
    (m.type === "nouveau" ? document.getElementById("np-prenom") : document.getElementById("pad")).focus();
  }

  function fermer() {
    panneau.hidden = true;
    liste.hidden = false;
    mode = null;
  }

  presents.addEventListener("click", (e) => {
    const b = e.target.closest("button.present[data-id]");
    if (!b || b.disabled) return;
    const s = etat.signataires.find((x) => x.id === Number(b.dataset.id));
    if (s) ouvrir({ type: "present", id: s.id, nom: s.nom });
  });
  const ajouter = document.getElementById("ajouter");
  if (ajouter) ajouter.addEventListener("click", () => ouvrir({ type: "nouveau" }));
  document.getElementById("cloturer").addEventListener("click", () => {
    const dernier = etat.signataires.filter((x) => x.role !== "participant").pop();
    ouvrir({ type: "cloture", nom: dernier ? dernier.nom : "l'animateur" });
  });
  document.getElementById("retour").addEventListener("click", fermer);
  document.getElementById("effacer").addEventListener("click", () => pad && pad.effacer());
  consentement.addEventListener("change", () => { if (consentement.checked) erreur.textContent = ""; });

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    erreur.textContent = "";
    if (!mode) return;
    let np = null;
    if (mode.type === "nouveau") {
      np = { prenom: document.getElementById("np-prenom").value.trim(), nom: document.getElementById("np-nom").value.trim() };
      if (!np.prenom || !np.nom) { erreur.textContent = "Indiquez le prénom et le nom de la personne."; return; }
    }
    const nomTape = document.getElementById("nom-tape");
    const tape = nomTape ? nomTape.value.trim() : "";
    if (pad.vide() && !tape) { erreur.textContent = "Tracez votre signature dans le cadre (ou tapez votre nom)."; return; }
    if (!consentement.checked) { erreur.textContent = "Cochez la phrase de consentement pour signer."; consentement.focus(); return; }
    const corps = {
      cle: cle(),
      signature: pad.vide()
        ? { nom_tape: tape, consentement: document.getElementById("texte-consentement").textContent.trim(), version: etat.version }
        : { trace: pad.trace(), png: pad.png(), consentement: document.getElementById("texte-consentement").textContent.trim(), version: etat.version },
      capture_le: new Date().toISOString(),
    };
    if (mode.type === "present") corps.signataire = mode.id;
    if (mode.type === "cloture") corps.excuses = Array.from(form.querySelectorAll("input[name=excuse]:checked"), (c) => Number(c.value));
    if (np) corps.nouveau = np;
    const f = file();
    f.push({ url: mode.type === "cloture" ? "cloture" : "signatures", corps });
    garder(f);
    if (np) { document.getElementById("np-prenom").value = ""; document.getElementById("np-nom").value = ""; }
    if (nomTape) { nomTape.value = ""; nomTape.closest("details").open = false; }
    fermer();
    marquer();
    envoyer();
  });

  async function envoyer() {
    if (enCours) return;
    enCours = true;
    clearTimeout(minuterie);
    // A refusal stays on screen until the next signature: the person must be able to read it.
    let refus = false;
    try {
      for (;;) {
        const f = file();
        if (!f.length) break;
        const item = f[0];
        let r;
        try {
          r = await fetch(`${base}/${item.url}`, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRF-Token": etat.csrf, Accept: "application/json" },
            body: JSON.stringify(item.corps),
          });
        } catch (_) {
          afficherReseau(`Pas de réseau : ${f.length} signature(s) gardée(s) sur la tablette ; nouvel essai dans quelques secondes.`, true);
          minuterie = setTimeout(envoyer, 5000);
          return;
        }
        const json = (r.headers.get("content-type") || "").includes("json") ? await r.json().catch(() => ({})) : {};
        if (r.status >= 500 || r.status === 401 || r.status === 429) {
          afficherReseau(json.erreur || `Service indisponible (${r.status}) : signatures gardées, nouvel essai bientôt.`, true);
          minuterie = setTimeout(envoyer, 5000);
          return;
        }
        garder(file().filter((e) => e.corps.cle !== item.corps.cle));
        if (r.ok && item.url === "cloture") {
          localStorage.removeItem(CLE);
          window.location.assign(json.suite || "/accueil");
          return;
        }
        refus = !r.ok;
        if (!r.ok) {
          afficherReseau(json.erreur || `Signature refusée (${r.status}).`, false);
          alert(json.erreur || `Signature refusée (${r.status}).`);
        } else {
          afficherReseau("Signature enregistrée.", false);
        }
        await rafraichir();
      }
      if (!file().length && navigator.onLine && !refus) afficherReseau("", false);
    } finally {
      enCours = false;
    }
  }

  window.addEventListener("online", envoyer);
  window.addEventListener("offline", () => afficherReseau("Pas de réseau : les signatures restent gardées sur la tablette.", true));
  // Pas de retour arrière ni de navigation hors de la feuille depuis la tablette.
  history.pushState(null, "", location.href);
  window.addEventListener("popstate", () => history.pushState(null, "", location.href));
  marquer();
  envoyer();
});
