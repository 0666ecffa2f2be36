//! `demo`, the README's first command (issue #5): the whole job against a built-in sandbox.

use crate::support::Workspace;

#[test]
fn demo_runs_every_step_and_exits_zero() {
    // No manifests/ here: the demo falls back to the bundled examples.
    let out = Workspace::new()
        .env("BILLING_API_SECRET", "canary-demo-secret-1f2e")
        .env("RUST_LOG", "trace")
        .run(&["demo"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for step in [
        "step 1: boruta-gitops validate",
        "step 2: boruta-gitops plan --detailed-exitcode",
        "step 3: boruta-gitops apply --auto-approve",
        "step 4: boruta-gitops plan --detailed-exitcode (again)",
        "step 5: boruta-gitops drift",
    ] {
        assert!(out.stdout.contains(step), "missing `{step}`");
    }
    assert!(out
        .stdout
        .contains("Apply: 3 created, 0 already present, 0 failed, 0 not attempted."));
    assert!(out
        .stdout
        .contains("Plan: 0 to create, 0 drifted, 3 in sync"));
    assert!(out
        .stdout
        .contains("demo finished: every step behaved as expected."));
    assert!(
        !out.stdout.contains("canary-demo-secret") && !out.stderr.contains("canary-demo-secret")
    );
}
