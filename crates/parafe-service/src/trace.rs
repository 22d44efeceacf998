//! A drawn signature and the sentence its signer agrees to: what the signing screens collect,
//! the evidence keeps and the certificat de preuve shows.

use serde::{Deserialize, Serialize};
use serde_json::json;

/// The sentence a signer agrees to, shown beside the signing button and kept with the evidence.
pub const CONSENTEMENT: &str = "J'ai lu ce document et je le signe électroniquement. Je sais que ma signature, l'heure, mon adresse IP et mon appareil sont conservés comme preuve.";

/// One point of a drawn stroke: position on the pad, milliseconds since the first point,
/// pressure when the device gives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub t: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
}

/// A drawn signature: the pad's size and the strokes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trace {
    pub largeur: f64,
    pub hauteur: f64,
    pub traits: Vec<Vec<Point>>,
}

impl Trace {
    /// The strokes as the templates draw them: in a 1000 × 400 box (y down), the drawing's
    /// own extent fitted in with its proportions kept and centred, whatever the pad's size.
    pub fn pour_modele(&self) -> serde_json::Value {
        let points = || self.traits.iter().flatten();
        let (x0, x1) = points().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.x), b.max(p.x)));
        let (y0, y1) = points().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.y), b.max(p.y)));
        let (l, h) = ((x1 - x0).max(1.0), (y1 - y0).max(1.0));
        let echelle = (960.0 / l).min(370.0 / h);
        let (dx, dy) = ((1000.0 - l * echelle) / 2.0, (400.0 - h * echelle) / 2.0);
        let borne = |v: f64| v.round().clamp(0.0, 1000.0) as i64;
        json!(self
            .traits
            .iter()
            .map(|t| t
                .iter()
                .map(|p| [
                    borne(dx + (p.x - x0) * echelle),
                    borne(dy + (p.y - y0) * echelle)
                ])
                .collect::<Vec<_>>())
            .collect::<Vec<_>>())
    }
}
