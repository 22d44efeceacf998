// Zone de signature : un canvas piloté par les événements de pointeur (doigt, stylet, souris).
// Chaque point garde sa position, l'instant (ms depuis le premier point) et la pression quand
// l'appareil la donne, pour que le geste puisse être examiné plus tard.
"use strict";
window.PadSignature = class PadSignature {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.traits = [];
    this.courant = null;
    this.debut = null;
    this.ecouteurs = [];
    this.redimensionner();
    window.addEventListener("resize", () => this.redimensionner());
    canvas.addEventListener("pointerdown", (e) => this.poser(e));
    canvas.addEventListener("pointermove", (e) => this.glisser(e));
    for (const fin of ["pointerup", "pointercancel", "pointerleave"]) canvas.addEventListener(fin, (e) => this.lever(e));
    canvas.addEventListener("touchstart", (e) => e.preventDefault(), { passive: false });
  }
  redimensionner() {
    const r = this.canvas.getBoundingClientRect();
    if (!r.width) return;
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(r.width * ratio);
    this.canvas.height = Math.round(r.height * ratio);
    this.largeur = r.width;
    this.hauteur = r.height;
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.redessiner();
  }
  point(e) {
    const r = this.canvas.getBoundingClientRect();
    if (this.debut === null) this.debut = e.timeStamp;
    const p = { x: Math.round((e.clientX - r.left) * 10) / 10, y: Math.round((e.clientY - r.top) * 10) / 10, t: Math.round(e.timeStamp - this.debut) };
    if (e.pointerType !== "mouse" && e.pressure > 0) p.p = Math.round(e.pressure * 1000) / 1000;
    return p;
  }
  poser(e) {
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.courant = [this.point(e)];
    this.traits.push(this.courant);
    this.redessiner();
  }
  glisser(e) {
    if (!this.courant) return;
    e.preventDefault();
    const evenements = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const c of evenements.length ? evenements : [e]) this.courant.push(this.point(c));
    this.redessiner();
  }
  lever() {
    if (this.courant) { this.courant = null; this.changer(); }
  }
  redessiner() {
    const c = this.ctx;
    c.clearRect(0, 0, this.largeur || 0, this.hauteur || 0);
    c.lineCap = "round"; c.lineJoin = "round"; c.strokeStyle = "#0b1f66";
    for (const t of this.traits) {
      if (t.length === 1) { c.beginPath(); c.arc(t[0].x, t[0].y, 1.6, 0, 2 * Math.PI); c.fillStyle = "#0b1f66"; c.fill(); continue; }
      for (let i = 1; i < t.length; i++) {
        const p = t[i].p ?? 0.5;
        c.lineWidth = 1.6 + 2.4 * p;
        c.beginPath(); c.moveTo(t[i - 1].x, t[i - 1].y); c.lineTo(t[i].x, t[i].y); c.stroke();
      }
    }
  }
  vide() { return !this.traits.some((t) => t.length > 0); }
  effacer() { this.traits = []; this.debut = null; this.redessiner(); this.changer(); }
  surChangement(f) { this.ecouteurs.push(f); }
  changer() { for (const f of this.ecouteurs) f(); }
  trace() { return { largeur: this.largeur, hauteur: this.hauteur, traits: this.traits }; }
  png() { return this.canvas.toDataURL("image/png"); }
};
