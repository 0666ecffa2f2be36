//! Waivers: a `# boruta-gitops:allow CODE reason` comment above a value waives the findings
//! `CODE` at that value (above the document: in the whole client). A waived finding is
//! still listed, with its reason, in every format; it never counts as an error.
//!
//! Only findings that are judgements may be waived. boruta's own rules may not, since
//! boruta would refuse the create anyway, with one exception: values that boruta refuses
//! only on create but that existing clients may hold (a legacy 1024-bit RSA key type, a
//! redirect URI or TTL that older rules allowed). Waived, they become warnings, and a plan
//! that would create such a client fails (`refused-on-create`). `export` writes these
//! waivers for the legacy values it finds.

use crate::findings::Code;
use crate::source::{Diagnostic, Location, Severity, Waiver};

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
    if waivers.is_empty() {
        return;
    }
    for d in diagnostics.iter_mut().filter(|d| d.waived.is_none()) {
        let Some(kind) = waivable(d.code) else {
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

/// Waivers that are themselves wrong: without a reason, naming what cannot be waived, or
/// waiving nothing.
pub fn check(waivers: &[Waiver], diagnostics: &[Diagnostic]) -> Vec<Diagnostic> {
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
        if waiver.reason.is_empty() {
            out.push(Diagnostic::new(
                Code::WaiverWithoutReason,
                format!(
                    "this waiver of {} gives no reason: write why after the code, for the reviewer",
                    waiver.codes.join(", ")
                ),
                at,
            ));
            continue;
        }
        for text in &waiver.codes {
            let Some(code) = Code::parse(text).filter(|c| waivable(*c).is_some()) else {
                out.push(Diagnostic::new(Code::NotWaivable,
                    format!("`{text}` cannot be waived: boruta itself refuses such a value, or it is not a finding code"),
                    at.clone(),
                ));
                continue;
            };
            let used = diagnostics.iter().any(|d| {
                d.code == code
                    && d.waived.is_some()
                    && d.location.as_ref().is_some_and(|l| waiver.covers(code, l))
            });
            if !used {
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
