// Page de signature (lien reçu par courriel, ou signature sur place sur la tablette du référent) :
// vérifie la saisie, envoie la signature et ses preuves, affiche l'erreur du serveur en français.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("formulaire-signature");
  if (!form) return;
  const pad = new window.PadSignature(document.getElementById("pad"));
  const erreur = document.getElementById("erreur-signature");
  const consentement = document.getElementById("consentement");
  const nomTape = document.getElementById("nom-tape");
  const bouton = document.getElementById("signer");
  document.getElementById("effacer").addEventListener("click", () => pad.effacer());
  pad.surChangement(() => { if (!pad.vide()) erreur.textContent = ""; });
  consentement.addEventListener("change", () => { if (consentement.checked) erreur.textContent = ""; });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    erreur.textContent = "";
    const tape = nomTape ? nomTape.value.trim() : "";
    if (pad.vide() && !tape) { erreur.textContent = "Tracez votre signature dans le cadre (ou tapez votre nom)."; return; }
    if (!consentement.checked) { erreur.textContent = "Cochez la phrase de consentement pour signer."; consentement.focus(); return; }
    const corps = {
      consentement: document.getElementById("texte-consentement").textContent.trim(),
      version: form.dataset.version,
    };
    if (!pad.vide()) { corps.trace = pad.trace(); corps.png = pad.png(); } else { corps.nom_tape = tape; }
    const entetes = { "Content-Type": "application/json" };
    if (form.dataset.csrf) entetes["X-CSRF-Token"] = form.dataset.csrf;
    bouton.disabled = true;
    try {
      const r = await fetch(form.dataset.url, { method: "POST", headers: entetes, body: JSON.stringify(corps), credentials: "same-origin" });
      const type = r.headers.get("content-type") || "";
      const reponse = type.includes("json") ? await r.json() : {};
      if (r.ok) { window.location.assign(form.dataset.suite); return; }
      erreur.textContent = reponse.erreur || `Signature refusée (erreur ${r.status}).`;
    } catch (_) {
      erreur.textContent = "Connexion impossible : vérifiez le réseau et réessayez. Rien n'a été enregistré.";
    }
    bouton.disabled = false;
  });
});
