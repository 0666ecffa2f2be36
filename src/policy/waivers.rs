//! Waivers: a `# boruta-gitops:allow CODE [until=YYYY-MM-DD] reason` comment above a value
//! waives the findings `CODE` at that value (above the document: in the whole client). A
//! waived finding is still listed, with its reason, in every format; it never counts as
//! an error.
//!
//! Only findings that are judgements may be waived. boruta's own rules may not, since
//! boruta would refuse the create anyway, with one exception: values that boruta refuses
//! only on create but that existing clients may hold (a legacy 1024-bit RSA key type, a
//! redirect URI or TTL that older rules allowed). Waived, they become warnings, and a plan
//! that would create such a client fails (`refused-on-create`). `export` writes these
//! waivers for the legacy values it finds.
//!
//! The policy owns the rest (issue #19): a rule it makes unwaivable (`waivable: false`)
//! cannot be waived, whatever the manifest says (`not-waivable`); a waiver past its
//! `until=` date waives nothing and says so (`waiver-expired`); and a policy may require
//! every waiver to have one (`waiver-without-expiry`). [`WaiverRules`] carries what the
//! policy says and the day it is judged on.

use super::file::Policy;
use crate::findings::Code;
use crate::source::{Diagnostic, Location, Severity, Waiver};
use std::collections::HashSet;

/// A calendar day (UTC), as waivers write it: `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Reads `YYYY-MM-DD` (a day that exists), nothing else.
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = text.get(range)?;
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let date = Date {
            year: digits(0..4)? as i32,
            month: digits(5..7)?,
            day: digits(8..10)?,
        };
        let exists = (1..=12).contains(&date.month)
            && (1..=days_in_month(date.year, date.month)).contains(&date.day);
        exists.then_some(date)
    }

    /// The day `days` days after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// What the policy says of waivers, and the day they are judged on.
#[derive(Debug, Clone)]
pub struct WaiverRules {
    /// Rules the policy makes unwaivable.
    pub unwaivable: HashSet<Code>,
    /// Every waiver needs `until=`.
    pub require_expiry: bool,
    pub today: Date,
}

impl WaiverRules {
    /// The policy's rules for waivers, judged on `today`.
    pub fn new(policy: &Policy, today: Date) -> Self {
        WaiverRules {
            unwaivable: policy.unwaivable.clone(),
            require_expiry: policy.require_expiry,
            today,
        }
    }

    /// Why `waiver` waives nothing, if it does not: an `until=` that is not a date, a
    /// date already past, or none where the policy requires one.
    fn lapse(&self, waiver: &Waiver) -> Option<Lapse> {
        match &waiver.until {
            Some(text) => match Date::parse(text) {
                None => Some(Lapse::BadDate),
                Some(until) if until < self.today => Some(Lapse::Expired(until)),
                Some(_) => None,
            },
            None if self.require_expiry => Some(Lapse::NoExpiry),
            None => None,
        }
    }

    /// The waivers that waive something today.
    pub fn in_force(&self, waivers: &[Waiver]) -> Vec<Waiver> {
        waivers
            .iter()
            .filter(|w| self.lapse(w).is_none())
            .cloned()
            .collect()
    }
}

enum Lapse {
    BadDate,
    Expired(Date),
    NoExpiry,
}

/// What a lapsed waiver is told.
fn lapsed_finding(waiver: &Waiver, lapse: &Lapse) -> Diagnostic {
    let codes = waiver.codes.join(", ");
    let (code, message) = match lapse {
        Lapse::BadDate => (
            Code::InvalidWaiver,
            format!(
                "`until={}` is not a date: write `until=YYYY-MM-DD`, the last day this waiver of {codes} applies",
                waiver.until.as_deref().unwrap_or_default()
            ),
        ),
        Lapse::Expired(until) => (
            Code::WaiverExpired,
            format!(
                "this waiver of {codes} expired on {until}: what it waived counts again; fix the value, or renew the waiver with a later date and a reason"
            ),
        ),
        Lapse::NoExpiry => (
            Code::WaiverWithoutExpiry,
            format!(
                "the policy requires every waiver to expire: add `until=YYYY-MM-DD` to this waiver of {codes}; until then it waives nothing"
            ),
        ),
    };
    Diagnostic::new(code, message, Some(waiver.loc.clone()))
}

/// boruta rules whose values existing clients may hold although a create refuses them.
pub const LEGACY: [Code; 4] = [
    Code::RsaModulusTooSmall,
    Code::KeyGenerationImpossible,
    Code::InvalidRedirectUri,
    Code::TtlOutOfRange,
];

/// Findings that are judgements, not boruta's refusals (with every security rule).
pub const ADVISORY: [Code; 1] = [super::catalogue::DEFAULT_GRANT_TYPES];

/// What a waiver of `code` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waivable {
    /// A legacy value: allowed on an existing client only.
    Legacy,
    Advisory,
}

pub fn waivable(code: Code) -> Option<Waivable> {
    if LEGACY.contains(&code) {
        Some(Waivable::Legacy)
    } else if ADVISORY.contains(&code) || super::catalogue::rule(code).is_some() {
        Some(Waivable::Advisory)
    } else {
        None
    }
}

/// Marks the findings a waiver covers as waived (a legacy one becomes a warning).
pub fn waive(diagnostics: &mut [Diagnostic], waivers: &[Waiver]) {
    waive_except(diagnostics, waivers, &HashSet::new());
}

/// [`waive`], except the findings of `unwaivable` codes (the policy's).
pub fn waive_except(
    diagnostics: &mut [Diagnostic],
    waivers: &[Waiver],
    unwaivable: &HashSet<Code>,
) {
    if waivers.is_empty() {
        return;
    }
    for d in diagnostics.iter_mut().filter(|d| d.waived.is_none()) {
        let Some(kind) = waivable(d.code).filter(|_| !unwaivable.contains(&d.code)) else {
            continue;
        };
        let Some(location) = &d.location else {
            continue;
        };
        let Some(waiver) = waivers
            .iter()
            .find(|w| !w.reason.is_empty() && w.covers(d.code, location))
        else {
            continue;
        };
        d.waived = Some(waiver.reason.clone());
        if kind == Waivable::Legacy {
            d.severity = Severity::Warning;
            d.message.push_str(
                "; boruta refuses it on create, so it may only stay on a client that already exists",
            );
        }
    }
}

/// Waivers that are themselves wrong, or lapsed: without a reason, naming what cannot be
/// waived (by nature, or by the policy), with a bad or past `until=` date, without one
/// where the policy requires it, or waiving nothing.
pub fn check(
    waivers: &[Waiver],
    diagnostics: &[Diagnostic],
    rules: &WaiverRules,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for waiver in waivers {
        let at = Some(waiver.loc.clone());
        if waiver.codes.is_empty() {
            out.push(Diagnostic::new(
                Code::InvalidWaiver,
                "a waiver names the finding codes it waives: `# boruta-gitops:allow CODE reason`",
                at,
            ));
            continue;
        }
        let codes = waiver.codes.join(", ");
        if waiver.reason.is_empty() {
            out.push(Diagnostic::new(
                Code::WaiverWithoutReason,
                format!(
                    "this waiver of {codes} gives no reason: write why after the code, for the reviewer"
                ),
                at,
            ));
            continue;
        }
        let lapsed = rules.lapse(waiver);
        out.extend(lapsed.as_ref().map(|lapse| lapsed_finding(waiver, lapse)));
        for text in &waiver.codes {
            let Some(code) = Code::parse(text).filter(|c| waivable(*c).is_some()) else {
                out.push(Diagnostic::new(Code::NotWaivable,
                    format!("`{text}` cannot be waived: boruta itself refuses such a value, or it is not a finding code"),
                    at.clone(),
                ));
                continue;
            };
            if rules.unwaivable.contains(&code) {
                out.push(Diagnostic::new(Code::NotWaivable,
                    format!("`{code}` cannot be waived: the policy makes it unwaivable (`waivable: false`); fix the value, or ask the policy's owners"),
                    at.clone(),
                ));
                continue;
            }
            let used = diagnostics.iter().any(|d| {
                d.code == code
                    && d.waived.is_some()
                    && d.location.as_ref().is_some_and(|l| waiver.covers(code, l))
            });
            if !used && lapsed.is_none() {
                out.push(Diagnostic::new(
                    Code::UnusedWaiver,
                    format!("this waiver of `{code}` waives nothing: remove it"),
                    at.clone(),
                ));
            }
        }
    }
    out
}

/// True when `diagnostics` hold a waived legacy finding between `first` and `last` line of
/// `file`: the client they belong to cannot be created.
pub fn legacy_waived_within<'a>(
    diagnostics: &'a [Diagnostic],
    file: &str,
    first: usize,
    last: usize,
) -> Option<&'a Location> {
    diagnostics
        .iter()
        .filter(|d| d.waived.is_some() && waivable(d.code) == Some(Waivable::Legacy))
        .filter_map(|d| d.location.as_ref())
        .find(|l| &*l.file == file && (first..=last).contains(&l.line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict_and_days_since_the_epoch_are_calendar_days() {
        assert_eq!(
            Date::parse("2026-02-28"),
            Some(Date {
                year: 2026,
                month: 2,
                day: 28
            })
        );
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026-01-01x",
            "2026/01/01",
            "+026-01-01",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Date::parse("2024-02-29").map(|d| d.to_string()),
            Some("2024-02-29".into())
        );
        assert_eq!(Date::from_days_since_epoch(0).to_string(), "1970-01-01");
        assert_eq!(
            Date::from_days_since_epoch(19_782).to_string(),
            "2024-02-29"
        );
        assert_eq!(
            Date::from_days_since_epoch(20_454).to_string(),
            "2026-01-01"
        );
    }
}
