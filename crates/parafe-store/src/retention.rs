//! Retention per opération: how long evidence is kept, and legal hold during a control.
//!
//! FSE rules (domain.md, "Retention and control"): keep every piece until the programme's
//! closure (31 December 2033 for 2014-2020), or N years from 31 December of the year of the last
//! payment (FSE+ 2021-2027, Regulation (EU) 2021/1060 art. 82: 5 years); the later of the two when
//! both apply. A retention is extended, never shortened. The register of rules in force lives in
//! `<data-dir>/store/retention.json`, every change is journaled.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

/// How long the pieces of one opération are kept. Dates are written `"2033-12-31"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionRule {
    /// Programme closure date: kept through that day (2014-2020: 2033-12-31).
    pub closure: Option<NaiveDate>,
    /// Years counted from 31 December of the year of the last payment (FSE+: 5).
    pub years_after_last_payment: Option<u32>,
    /// Date of the last payment to the opération, once known.
    pub last_payment: Option<NaiveDate>,
    /// End of the opération's period. While the last payment is unknown the years count from
    /// it: payments come after the period, so this provisional date can only be earlier than
    /// (or equal to) the final one, and entering the last payment then extends it, never
    /// shortens it.
    pub period_end: Option<NaiveDate>,
}

impl RetentionRule {
    /// The last day the pieces must be kept: the later of the rules that apply.
    pub fn last_day(&self) -> Option<NaiveDate> {
        let paid = self.last_payment.or(self.period_end);
        let after_payment = match (self.years_after_last_payment, paid) {
            (Some(years), Some(paid)) => {
                NaiveDate::from_ymd_opt(paid.year() + years as i32, 12, 31)
            }
            _ => None,
        };
        self.closure.max(after_payment)
    }
}

/// Kept through `day` (Europe/Paris): retained until the next midnight, Paris time, in UTC.
pub fn retain_until_instant(day: NaiveDate) -> DateTime<Utc> {
    let next = day.succ_opt().unwrap_or(day);
    let midnight = next.and_hms_opt(0, 0, 0).unwrap_or_default();
    Paris
        .from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// `[store.retention]` in parafe.toml: a default rule, per-opération rules, and the figures of
/// each programme's rule.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Applies to any opération whose record gives no rule (no programme, or filed from the
    /// command line).
    pub default: RetentionRule,
    /// By opération identifier (e.g. the Ma Démarche FSE number): a deployment's override,
    /// applied on top of the opération's own rule (the later date wins).
    pub operations: BTreeMap<String, RetentionRule>,
    /// What each programme's rule counts with, applied to every opération of that programme.
    pub programmes: ProgrammeRules,
}

/// `[store.retention.programmes]`: the figures of the programmes' rules, set by regulation but
/// configurable (a programme's closure date may be moved by the managing authority).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProgrammeRules {
    /// PON « Emploi et Inclusion » 2014-2020: kept until the programme's closure.
    pub closure_2014_2020: NaiveDate,
    /// FSE+ 2021-2027 (Regulation (EU) 2021/1060 art. 82): years from 31 December of the year
    /// of the last payment.
    pub years_fse_plus: u32,
}

/// FSE 2014-2020: "jusqu'à la date de clôture du programme", indicatively 2033-12-31.
fn closure_2014_2020() -> NaiveDate {
    NaiveDate::from_ymd_opt(2033, 12, 31).unwrap_or_default()
}

impl Default for ProgrammeRules {
    fn default() -> Self {
        Self {
            closure_2014_2020: closure_2014_2020(),
            years_fse_plus: 5,
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            default: RetentionRule {
                closure: Some(closure_2014_2020()),
                ..Default::default()
            },
            operations: BTreeMap::new(),
            programmes: ProgrammeRules::default(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct OperationState {
    rule: Option<RetentionRule>,
    /// The longest retention ever applied: a new rule may not end before it.
    floor: Option<DateTime<Utc>>,
    legal_hold: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("aucune règle de conservation applicable à l'opération « {0} » : indiquez une date de clôture, ou une durée après le dernier paiement et sa date")]
    NoRule(String),
    #[error("la conservation de l'opération « {operation} » court jusqu'au {current} ; elle ne peut pas être raccourcie au {requested}")]
    Shortened {
        operation: String,
        current: String,
        requested: String,
    },
    #[error("registre de conservation {path} : {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// The rules in force and the legal holds.
pub struct Register {
    path: PathBuf,
    config: RetentionConfig,
    state: BTreeMap<String, OperationState>,
}

/// A retain-until instant as a person reads it: the last day kept, in Paris.
pub fn paris_day(t: DateTime<Utc>) -> String {
    (t.with_timezone(&Paris) - chrono::Duration::seconds(1))
        .format("%d/%m/%Y")
        .to_string()
}

impl Register {
    pub fn open(path: PathBuf, config: RetentionConfig) -> Result<Register, RetentionError> {
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RetentionError::Io {
                path: path.clone(),
                source: io::Error::other(e),
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(RetentionError::Io { path, source }),
        };
        Ok(Register {
            path,
            config,
            state,
        })
    }

    fn rule(&self, operation: &str) -> &RetentionRule {
        self.state
            .get(operation)
            .and_then(|s| s.rule.as_ref())
            .or_else(|| self.config.operations.get(operation))
            .unwrap_or(&self.config.default)
    }

    /// Retain-until of the opération's pieces filed now. `record`: the rule the opération's
    /// own record gives (its programme, period and last payment); when it gives a date, the
    /// default rule, another programme's, does not apply, but the later of it, a rule put in
    /// force here and the deployment's override wins.
    pub fn retain_until(
        &self,
        operation: &str,
        record: Option<&RetentionRule>,
    ) -> Result<DateTime<Utc>, RetentionError> {
        let day = match record.and_then(RetentionRule::last_day) {
            Some(day) => {
                let in_force = self.state.get(operation).and_then(|s| s.rule.as_ref());
                let overridden = self.config.operations.get(operation);
                Some(
                    [in_force, overridden]
                        .into_iter()
                        .flatten()
                        .filter_map(RetentionRule::last_day)
                        .fold(day, NaiveDate::max),
                )
            }
            None => self.rule(operation).last_day(),
        };
        day.map(retain_until_instant)
            .max(self.floor(operation))
            .ok_or_else(|| RetentionError::NoRule(operation.to_owned()))
    }

    /// The longest retention put in force for the opération (by a rule, here or by another
    /// instance through the journal): what no new rule may end before.
    pub fn floor(&self, operation: &str) -> Option<DateTime<Utc>> {
        self.state.get(operation).and_then(|s| s.floor)
    }

    /// The longest retention in force, for what concerns every opération (journal segments).
    pub fn longest(&self) -> Result<DateTime<Utc>, RetentionError> {
        let mut operations: Vec<&str> = self.config.operations.keys().map(String::as_str).collect();
        operations.extend(self.state.keys().map(String::as_str));
        let mut longest = self.config.default.last_day().map(retain_until_instant);
        for op in operations {
            longest = longest.max(self.retain_until(op, None).ok());
        }
        longest.ok_or_else(|| RetentionError::NoRule("(règle par défaut)".into()))
    }

    pub fn legal_hold(&self, operation: &str) -> bool {
        self.state.get(operation).is_some_and(|s| s.legal_hold)
    }

    /// Puts a new rule in force; refused when it would end earlier than the retention in force:
    /// the floor, and `filed`, the longest retain-until the opération's pieces already carry.
    /// The default rule is no such promise: an opération whose own rule ends earlier (FSE+
    /// against the 2014-2020 closure) takes it before anything is filed.
    pub fn set_rule(
        &mut self,
        operation: &str,
        rule: RetentionRule,
        filed: Option<DateTime<Utc>>,
    ) -> Result<DateTime<Utc>, RetentionError> {
        let current = self.floor(operation).max(filed);
        let requested = rule
            .last_day()
            .map(retain_until_instant)
            .ok_or_else(|| RetentionError::NoRule(operation.into()))?;
        if let Some(current) = current.filter(|c| requested < *c) {
            return Err(RetentionError::Shortened {
                operation: operation.into(),
                current: paris_day(current),
                requested: paris_day(requested),
            });
        }
        let state = self.state.entry(operation.to_owned()).or_default();
        state.rule = Some(rule);
        state.floor = Some(requested);
        self.save()?;
        Ok(requested)
    }

    /// What a journal entry tells of an opération's retention: its floor raised, its legal
    /// hold set. Replaying the journal in order gives the register's state (several instances
    /// learn each other's changes this way); nothing is saved.
    pub fn observe(&mut self, event: &parafe_core::model::JournalEvent) {
        use parafe_core::model::JournalEvent;
        match event {
            JournalEvent::RetentionChanged {
                operation,
                retain_until,
            } => {
                let state = self.state.entry(operation.clone()).or_default();
                state.floor = state.floor.max(Some(*retain_until));
            }
            JournalEvent::LegalHold { operation, on } => {
                self.state.entry(operation.clone()).or_default().legal_hold = *on;
            }
            _ => {}
        }
    }

    pub fn set_legal_hold(&mut self, operation: &str, on: bool) -> Result<(), RetentionError> {
        self.state
            .entry(operation.to_owned())
            .or_default()
            .legal_hold = on;
        self.save()
    }

    fn save(&self) -> Result<(), RetentionError> {
        let io_err = |source| RetentionError::Io {
            path: self.path.clone(),
            source,
        };
        let bytes =
            serde_json::to_vec_pretty(&self.state).map_err(|e| io_err(io::Error::other(e)))?;
        parafe_core::files::write_durably(&self.path, &bytes).map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_later_rule_wins() {
        let closure = RetentionRule {
            closure: Some(day(2033, 12, 31)),
            ..Default::default()
        };
        assert_eq!(closure.last_day(), Some(day(2033, 12, 31)));
        let fse_plus = RetentionRule {
            years_after_last_payment: Some(5),
            last_payment: Some(day(2030, 3, 2)),
            ..Default::default()
        };
        assert_eq!(fse_plus.last_day(), Some(day(2035, 12, 31)));
        let both = RetentionRule {
            closure: Some(day(2033, 12, 31)),
            ..fse_plus.clone()
        };
        assert_eq!(both.last_day(), Some(day(2035, 12, 31)));
        let unknown_payment = RetentionRule {
            years_after_last_payment: Some(5),
            ..Default::default()
        };
        assert_eq!(unknown_payment.last_day(), None);
        // Kept through 31/12/2033 in Paris: until 2034-01-01T00:00+01:00.
        assert_eq!(
            retain_until_instant(day(2033, 12, 31)).to_rfc3339(),
            "2033-12-31T23:00:00+00:00"
        );
    }

    #[test]
    fn an_operation_s_own_rule_replaces_the_default_and_its_provisional_date_only_grows() {
        let dir = tempfile::tempdir().unwrap();
        let mut register =
            Register::open(dir.path().join("r.json"), RetentionConfig::default()).unwrap();
        let fse_plus = RetentionRule {
            years_after_last_payment: Some(5),
            period_end: Some(day(2026, 12, 31)),
            ..Default::default()
        };
        // Not born with the 2014-2020 default: before its last payment, 5 years from its end.
        let provisional = retain_until_instant(day(2031, 12, 31));
        assert_eq!(
            register.retain_until("plus", Some(&fse_plus)).unwrap(),
            provisional
        );
        assert_eq!(
            register.set_rule("plus", fse_plus.clone(), None).unwrap(),
            provisional
        );
        let paid = RetentionRule {
            last_payment: Some(day(2027, 6, 30)),
            ..fse_plus
        };
        let until = register.set_rule("plus", paid, None).unwrap();
        assert_eq!(until, retain_until_instant(day(2032, 12, 31)));
        // Pieces already filed until 2033 are not shortened either.
        let err = register
            .set_rule("autre", RetentionRule::default(), Some(until))
            .unwrap_err();
        assert!(matches!(err, RetentionError::NoRule(_)), "{err}");
        let earlier = RetentionRule {
            closure: Some(day(2030, 12, 31)),
            ..Default::default()
        };
        let err = register
            .set_rule("autre", earlier, Some(until))
            .unwrap_err();
        assert!(
            err.to_string().contains("court jusqu'au 31/12/2032"),
            "{err}"
        );
    }

    #[test]
    fn retention_is_extended_never_shortened() {
        let dir = tempfile::tempdir().unwrap();
        let mut register =
            Register::open(dir.path().join("r.json"), RetentionConfig::default()).unwrap();
        let longer = RetentionRule {
            years_after_last_payment: Some(5),
            last_payment: Some(day(2031, 1, 1)),
            ..Default::default()
        };
        let until = register.set_rule("op-1", longer, None).unwrap();
        assert_eq!(until, retain_until_instant(day(2036, 12, 31)));
        let shorter = RetentionRule {
            closure: Some(day(2033, 12, 31)),
            ..Default::default()
        };
        let err = register
            .set_rule("op-1", shorter, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ne peut pas être raccourcie"), "{err}");
        let reopened =
            Register::open(dir.path().join("r.json"), RetentionConfig::default()).unwrap();
        assert_eq!(reopened.retain_until("op-1", None).unwrap(), until);
        assert_eq!(
            reopened.retain_until("op-2", None).unwrap(),
            retain_until_instant(day(2033, 12, 31))
        );
    }
}
