// Écran du référent qui montre le QR code d'une signature sur téléphone : demande l'état toutes
// les 3 secondes (en attente, ouvert sur le téléphone, signé) ; chaque demande garde le code en
// vie, fermer la page le laisse mourir en 30 secondes.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const zone = document.getElementById("telephone");
  if (!zone) return;
  const etat = document.getElementById("etat-telephone");
  let minuterie = null;
  const arreter = () => { clearInterval(minuterie); minuterie = null; };
  async function demander() {
    try {
      const r = await fetch(zone.dataset.etat, {
        method: "POST", credentials: "same-origin", body: "{}",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": zone.dataset.csrf },
      });
      const reponse = (r.headers.get("content-type") || "").includes("json") ? await r.json() : {};
      if (!r.ok || !reponse.etat) {
        etat.textContent = reponse.erreur || `État du code illisible (erreur ${r.status}) : rechargez le document.`;
        zone.dataset.fini = "clos";
        arreter();
        return;
      }
      etat.textContent = reponse.libelle;
      zone.dataset.etatCode = reponse.etat;
      if (reponse.fini) {
        zone.dataset.fini = reponse.etat;
        arreter();
        // La feuille d'un atelier : la personne suivante attend la tablette.
        if (reponse.etat === "signe" && zone.dataset.revenir) setTimeout(() => location.assign(zone.dataset.revenir), 1500);
      }
    } catch (_) {
      etat.textContent = "Connexion perdue : le code cessera de valoir si elle ne revient pas.";
    }
  }
  minuterie = setInterval(demander, 3000);
  demander();
});
