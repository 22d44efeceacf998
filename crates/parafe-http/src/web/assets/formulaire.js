// Vérification pendant la saisie des formulaires générés depuis le schéma du modèle.
// Les messages reprennent ceux du serveur, qui reste seul juge (template::validate).
"use strict";
(() => {
  const DATE = /^\d{4}-\d{2}-\d{2}$/;
  const HEURE = /^\d{2}:\d{2}$/;
  const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  function dateValide(v) {
    if (!DATE.test(v)) return false;
    const [a, m, j] = v.split("-").map(Number);
    const d = new Date(Date.UTC(a, m - 1, j));
    return d.getUTCFullYear() === a && d.getUTCMonth() === m - 1 && d.getUTCDate() === j;
  }

  function erreurScalaire(type, v, min, max) {
    switch (type) {
      case "date": return dateValide(v) ? "" : "date au format AAAA-MM-JJ attendue";
      case "heure": return HEURE.test(v) ? "" : "heure au format HH:MM attendue";
      case "email": return EMAIL.test(v) ? "" : "adresse e-mail attendue (nom@domaine.fr)";
      case "entier": {
        if (!/^-?\d+$/.test(v)) return "nombre entier attendu";
        const n = Number(v);
        if (min !== null && n < min) return `au moins ${min}`;
        if (max !== null && n > max) return `au plus ${max}`;
        return "";
      }
      case "nombre": {
        if (!/^-?\d+([.,]\d+)?$/.test(v)) return "nombre attendu (7,5)";
        const n = Number(v.replace(",", "."));
        if (min !== null && n < min) return `au moins ${min}`;
        if (max !== null && n > max) return `au plus ${max}`;
        return "";
      }
      case "texte": {
        const n = [...v].length;
        if (min !== null && n < min) return `au moins ${min} caractère(s) (${n} saisi(s))`;
        if (max !== null && n > max) return `au plus ${max} caractères (${n} saisis)`;
        return "";
      }
      default: return "";
    }
  }

  function nombre(s) { return s === undefined || s === "" ? null : Number(s); }

  // Un groupe facultatif laissé entièrement vide n'est pas vérifié (un troisième signataire…).
  function groupeVide(champ) {
    const groupe = champ.closest("fieldset[data-facultatif]");
    if (!groupe) return false;
    return [...groupe.querySelectorAll("[data-type]")].every((c) => (c.type === "checkbox" ? !c.checked : !c.value.trim()));
  }

  function verifier(champ) {
    if (groupeVide(champ)) { afficher(champ, ""); return true; }
    const d = champ.dataset;
    const requis = d.requis === "1";
    const min = nombre(d.min), max = nombre(d.max);
    const v = champ.value.trim();
    let message = "";
    if (d.type === "liste") {
      const lignes = v.split("\n").map((l) => l.trim()).filter((l) => l);
      if (requis && !lignes.length) message = "champ obligatoire : une ligne par élément";
      else if (min !== null && lignes.length && lignes.length < min) message = `au moins ${min} élément(s)`;
      else if (max !== null && lignes.length > max) message = `au plus ${max} éléments`;
      else {
        for (const l of lignes) {
          const e = erreurScalaire(d.element, l, null, null);
          if (e) { message = `« ${l} » : ${e}`; break; }
        }
      }
    } else if (d.type === "booleen") {
      message = "";
    } else if (!v) {
      message = requis ? "champ obligatoire" : "";
    } else {
      message = erreurScalaire(d.type, v, min, max);
    }
    afficher(champ, message);
    return message === "";
  }

  function afficher(champ, message) {
    const bloc = champ.closest(".champ");
    const p = bloc ? bloc.querySelector(".message-champ") : null;
    if (p) p.textContent = message;
    if (message) champ.setAttribute("aria-invalid", "true");
    else champ.removeAttribute("aria-invalid");
  }

  // Une ligne de plus dans une liste d'objets : copie de la dernière, indices renumérotés.
  function ajouterElement(bouton) {
    const liste = bouton.closest("fieldset.liste");
    const elements = liste.querySelectorAll(":scope > fieldset.element");
    const max = nombre(liste.dataset.max);
    if (max !== null && elements.length >= max) return;
    const dernier = elements[elements.length - 1];
    const i = elements.length;
    const copie = dernier.cloneNode(true);
    const chemin = liste.dataset.chemin;
    const ancien = `${chemin}[${i - 1}]`, nouveau = `${chemin}[${i}]`;
    for (const el of copie.querySelectorAll("[name],[id],[for],[data-chemin],[aria-describedby]")) {
      for (const attr of ["name", "id", "for", "data-chemin", "aria-describedby"]) {
        const v = el.getAttribute(attr);
        if (v) el.setAttribute(attr, v.split(ancien).join(nouveau).split(`${chemin.replace(/[^a-zA-Z0-9]/g, "-")}-${i - 1}-`).join(`${chemin.replace(/[^a-zA-Z0-9]/g, "-")}-${i}-`));
      }
      if ("value" in el && el.type !== "checkbox" && el.type !== "radio") el.value = "";
      el.removeAttribute("aria-invalid");
    }
    for (const p of copie.querySelectorAll(".message-champ")) p.textContent = "";
    copie.dataset.index = String(i);
    const legende = copie.querySelector("legend");
    if (legende) legende.textContent = legende.textContent.replace(/\d+$/, String(i + 1));
    dernier.after(copie);
    brancher(copie);
    const premier = copie.querySelector("input, textarea, select");
    if (premier) premier.focus();
  }

  function brancher(racine) {
    for (const champ of racine.querySelectorAll("[data-type]")) {
      champ.addEventListener("blur", () => verifier(champ));
      champ.addEventListener("input", () => { if (champ.getAttribute("aria-invalid")) verifier(champ); });
      champ.addEventListener("change", () => verifier(champ));
    }
  }

  // Une question conditionnelle (data-si : la question dont elle dépend, data-parmi : les
  // réponses qui la font poser) n'est montrée, et envoyée, que si sa condition tient ; dans
  // l'ordre du formulaire, une question cachée cache celles qui dépendent d'elle.
  function conditions(form) {
    const cachees = new Set();
    for (const bloc of form.querySelectorAll("[data-si]")) {
      const amont = bloc.dataset.si;
      const coche = form.querySelector(`input[type="radio"][name="${CSS.escape(amont)}"]:checked`);
      const champ = coche || form.querySelector(`[name="${CSS.escape(amont)}"]:not([type="radio"])`);
      const v = champ && !champ.disabled ? champ.value.trim() : "";
      const parmi = (bloc.dataset.parmi || "").split(" ").filter((c) => c);
      const posee = !cachees.has(amont) && v !== "" && (!parmi.length || parmi.includes(v));
      bloc.hidden = !posee;
      if (!posee) cachees.add(bloc.dataset.chemin);
      for (const c of bloc.querySelectorAll("input, select, textarea")) c.disabled = !posee;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const form of document.querySelectorAll("form[data-valider]")) {
      brancher(form);
      if (form.querySelector("[data-si]")) {
        conditions(form);
        form.addEventListener("change", () => conditions(form));
      }
      form.addEventListener("click", (e) => {
        const b = e.target.closest(".ajouter-element");
        if (b) { e.preventDefault(); ajouterElement(b); }
      });
      form.addEventListener("submit", (e) => {
        let premier = null;
        for (const champ of form.querySelectorAll("[data-type]")) {
          if (champ.closest("[hidden]") || champ.offsetParent === null) continue;
          if (!verifier(champ) && !premier) premier = champ;
        }
        if (premier) { e.preventDefault(); premier.focus(); }
      });
    }
  });
})();
