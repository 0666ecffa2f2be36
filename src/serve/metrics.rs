//! `serve`'s Prometheus metrics: one registry of the Prometheus project's `prometheus-client`
//! crate, written in the Prometheus text format (0.0.4) that every scraper and `promtool`
//! read. The names are an interface (dashboards and alerts use them, see
//! deploy/prometheus/rules.yaml and the README's "Running continuously"); each is
//! described once, here, in its HELP text. No metric carries a secret, a name or an id:
//! only counts, durations and times.

use super::cycle::{Cycle, States, WriteAction, WriteResult};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// One label: its name and value.
type Labels<const N: usize> = [(&'static str, &'static str); N];
/// A gauge holding seconds (times, durations).
type Seconds = Gauge<f64, AtomicU64>;

const CYCLE_RESULTS: [&str; 2] = ["success", "error"];
const STATES: [&str; 4] = ["in_sync", "missing", "drifted", "unmanaged"];
const SEVERITIES: [&str; 3] = ["error", "warning", "note"];
const WRITE_ACTIONS: [WriteAction; 3] = [
    WriteAction::Create,
    WriteAction::Update,
    WriteAction::Delete,
];
const WRITE_RESULTS: [WriteResult; 3] = [
    WriteResult::Success,
    WriteResult::Error,
    WriteResult::NotAttempted,
];

impl WriteAction {
    fn label(self) -> &'static str {
        match self {
            WriteAction::Create => "create",
            WriteAction::Update => "update",
            WriteAction::Delete => "delete",
        }
    }
}

impl WriteResult {
    fn label(self) -> &'static str {
        match self {
            WriteResult::Success => "success",
            WriteResult::Error => "error",
            WriteResult::NotAttempted => "not_attempted",
        }
    }
}

/// The gauges that never change after the start: the interval, and when the process
/// started.
fn register_fixed(registry: &mut Registry, interval: Duration) {
    let interval_gauge = Seconds::default();
    interval_gauge.set(interval.as_secs_f64());
    registry.register_with_unit(
        "boruta_gitops_interval",
        "The configured --interval between cycles (alerts compare the time since the last success with it)",
        Unit::Seconds,
        interval_gauge,
    );
    let started = Seconds::default();
    started.set(unix_seconds(SystemTime::now()));
    registry.register_with_unit(
        "boruta_gitops_start_timestamp",
        "When this serve process started, in seconds since the Unix epoch",
        Unit::Seconds,
        started,
    );
}

/// Every metric of `serve`, registered once.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<Labels<1>, Counter>,
    duration: Histogram,
    last_success: Seconds,
    clients: Family<Labels<1>, Gauge>,
    scopes: Family<Labels<1>, Gauge>,
    writes: Family<Labels<2>, Counter>,
    findings: Family<Labels<1>, Gauge>,
}

impl Metrics {
    /// The metrics of a `serve` reconciling every `interval`.
    pub fn new(interval: Duration) -> Metrics {
        let mut registry = Registry::default();
        let reconciles = Family::<Labels<1>, Counter>::default();
        registry.register(
            "boruta_gitops_reconcile",
            "Reconciliation cycles by result: success (applied, or planned with --dry-run), or error (manifests that do not validate, a plan with errors, a server that is down or refuses, a write that did not take)",
            reconciles.clone(),
        );
        // From 50 ms to about 7 minutes: a cycle of a few clients to one of 100,000.
        let duration = Histogram::new(exponential_buckets(0.05, 2.0, 14));
        registry.register_with_unit(
            "boruta_gitops_reconcile_duration",
            "How long reconciliation cycles took, from reading the manifests to the last write read back",
            Unit::Seconds,
            duration.clone(),
        );
        let last_success = Seconds::default();
        registry.register_with_unit(
            "boruta_gitops_last_success_timestamp",
            "When the last successful cycle ended, in seconds since the Unix epoch (0: none yet)",
            Unit::Seconds,
            last_success.clone(),
        );
        register_fixed(&mut registry, interval);
        let clients = Family::<Labels<1>, Gauge>::default();
        registry.register(
            "boruta_gitops_clients",
            "Clients by state after the last cycle that read the server: in_sync, missing (declared, not on the server), drifted (on the server, not as declared), unmanaged (on the server, not declared; system clients excepted)",
            clients.clone(),
        );
        let scopes = Family::<Labels<1>, Gauge>::default();
        registry.register(
            "boruta_gitops_scopes",
            "Scopes by state after the last cycle that read the server, as boruta_gitops_clients (scopes are read only when manifests declare or use scopes)",
            scopes.clone(),
        );
        let writes = Family::<Labels<2>, Counter>::default();
        registry.register(
            "boruta_gitops_writes",
            "Writes to the server by action (create, update, delete) and result (success, error, not_attempted)",
            writes.clone(),
        );
        let findings = Family::<Labels<1>, Gauge>::default();
        registry.register(
            "boruta_gitops_findings",
            "Findings of the last cycle that read the manifests, by severity (a waived finding counts as a note)",
            findings.clone(),
        );
        let metrics = Metrics {
            registry,
            reconciles,
            duration,
            last_success,
            clients,
            scopes,
            writes,
            findings,
        };
        metrics.start_counters_at_zero();
        metrics
    }

    /// Counters exist at 0 from the start, so rate() and increase() see the first one.
    fn start_counters_at_zero(&self) {
        for result in CYCLE_RESULTS {
            let _ = self.reconciles.get_or_create(&[("result", result)]);
        }
        for action in WRITE_ACTIONS {
            for result in WRITE_RESULTS {
                let labels = [("action", action.label()), ("result", result.label())];
                let _ = self.writes.get_or_create(&labels);
            }
        }
    }

    /// Records a finished cycle.
    pub fn record(&self, cycle: &Cycle) {
        let result = if cycle.succeeded() {
            "success"
        } else {
            "error"
        };
        self.reconciles.get_or_create(&[("result", result)]).inc();
        self.duration.observe(cycle.duration.as_secs_f64());
        if cycle.succeeded() {
            self.last_success.set(unix_seconds(SystemTime::now()));
        }
        if let Some(objects) = &cycle.objects {
            set_states(&self.clients, &objects.clients);
            set_states(&self.scopes, &objects.scopes);
        }
        if let Some(findings) = &cycle.findings {
            let counts = [findings.error, findings.warning, findings.note];
            for (severity, count) in SEVERITIES.into_iter().zip(counts) {
                self.findings
                    .get_or_create(&[("severity", severity)])
                    .set(gauge_value(count));
            }
        }
        for (action, result) in &cycle.writes {
            self.writes
                .get_or_create(&[("action", action.label()), ("result", result.label())])
                .inc();
        }
    }

    /// The exposition, in the Prometheus text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn set_states(family: &Family<Labels<1>, Gauge>, states: &States) {
    let counts = [
        states.in_sync,
        states.missing,
        states.drifted,
        states.unmanaged,
    ];
    for (state, count) in STATES.into_iter().zip(counts) {
        family
            .get_or_create(&[("state", state)])
            .set(gauge_value(count));
    }
}

fn gauge_value(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::cycle::{Findings, Objects};

    fn sample(text: &str, name: &str) -> Option<String> {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .map(|l| l[name.len() + 1..].to_string())
    }

    #[test]
    fn a_cycle_is_counted_with_its_states_findings_and_writes() {
        let metrics = Metrics::new(Duration::from_secs(300));
        let before = metrics.encode().unwrap();
        assert_eq!(
            sample(&before, "boruta_gitops_reconcile_total{result=\"success\"}").as_deref(),
            Some("0")
        );
        assert_eq!(
            sample(&before, "boruta_gitops_interval_seconds").as_deref(),
            Some("300.0")
        );
        // No state before a cycle has read the server.
        assert!(!before.contains("boruta_gitops_clients{"), "{before}");
        let cycle = Cycle {
            duration: Duration::from_millis(120),
            objects: Some(Objects {
                clients: States {
                    in_sync: 3,
                    missing: 1,
                    drifted: 2,
                    unmanaged: 4,
                },
                scopes: States::default(),
            }),
            findings: Some(Findings {
                error: 0,
                warning: 2,
                note: 1,
            }),
            writes: vec![
                (WriteAction::Create, WriteResult::Success),
                (WriteAction::Update, WriteResult::Error),
            ],
            failure: Some("1 of 2 write(s) did not take".into()),
            ..Cycle::default()
        };
        metrics.record(&cycle);
        let text = metrics.encode().unwrap();
        let expect = [
            ("boruta_gitops_reconcile_total{result=\"error\"}", "1"),
            ("boruta_gitops_reconcile_total{result=\"success\"}", "0"),
            ("boruta_gitops_clients{state=\"in_sync\"}", "3"),
            ("boruta_gitops_clients{state=\"missing\"}", "1"),
            ("boruta_gitops_clients{state=\"drifted\"}", "2"),
            ("boruta_gitops_clients{state=\"unmanaged\"}", "4"),
            ("boruta_gitops_scopes{state=\"drifted\"}", "0"),
            ("boruta_gitops_findings{severity=\"warning\"}", "2"),
            (
                "boruta_gitops_writes_total{action=\"create\",result=\"success\"}",
                "1",
            ),
            (
                "boruta_gitops_writes_total{action=\"update\",result=\"error\"}",
                "1",
            ),
            (
                "boruta_gitops_writes_total{action=\"delete\",result=\"success\"}",
                "0",
            ),
            ("boruta_gitops_reconcile_duration_seconds_count", "1"),
            ("boruta_gitops_last_success_timestamp_seconds", "0.0"),
        ];
        for (name, value) in expect {
            assert_eq!(
                sample(&text, name).as_deref(),
                Some(value),
                "{name} in\n{text}"
            );
        }
        assert!(
            text.contains("# TYPE boruta_gitops_reconcile_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE boruta_gitops_reconcile_duration_seconds histogram\n"),
            "{text}"
        );
    }
}
