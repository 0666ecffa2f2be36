//! `demo`, the README's first command (issues #5, #12): the whole job against a built-in
//! sandbox, with one validation finding and one drift, and nothing left behind.

use crate::support::Workspace;

#[test]
fn demo_runs_every_step_shows_a_finding_and_a_drift_and_cleans_up() {
    // No manifests/ here: the demo falls back to the bundled examples. Its temporary
    // files go to a TMPDIR of the test's own, which must be empty afterwards.
    let ws = Workspace::new();
    let tmp = ws.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let ws = ws
        .env("BILLING_API_SECRET", "canary-demo-secret-1f2e")
        .env("RUST_LOG", "trace")
        .env("TMPDIR", tmp.to_str().unwrap());
    let out = ws.run(&["demo"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for step in [
        "step 1: boruta-gitops validate (a copy with a mistake)",
        "step 2: boruta-gitops validate",
        "step 3: boruta-gitops plan --detailed-exitcode",
        "step 4: boruta-gitops apply --auto-approve",
        "step 5: boruta-gitops plan --detailed-exitcode (again)",
        "step 6: boruta-gitops drift (after an edit in the admin UI)",
        "step 7: boruta-gitops apply --update --auto-approve",
        "step 8: boruta-gitops drift (again)",
    ] {
        assert!(out.stdout.contains(step), "missing `{step}`");
    }
    assert!(out.stdout.contains("error[invalid-redirect-uri]: redirect URI `https:shop.example.com/callback` is invalid"), "{}", out.stdout);
    assert!(out
        .stdout
        .contains("Apply: 3 created, 0 already present, 0 failed, 0 not attempted."));
    assert!(out
        .stdout
        .contains("Plan: 0 to create, 0 drifted, 3 in sync"));
    // The drifted list element by element: the URI added by hand is the one removed.
    let drifted = concat!(
        "      ~ redirect_uris:\n",
        "            \"https://shop.example.com/callback\"\n",
        "            \"http://127.0.0.1:5173/callback\"\n",
        "          - \"https://evil.example.net/cb\"\n",
    );
    assert!(out.stdout.contains(drifted), "{}", out.stdout);
    assert!(out
        .stdout
        .contains("Apply: 0 created, 1 updated, 0 already present, 0 failed, 0 not attempted."));
    assert!(out.stdout.contains(
        "Drift: 0 to create, 0 drifted, 3 in sync, 0 unmanaged (3 system), 0 conflict(s)."
    ));
    assert!(out
        .stdout
        .contains("demo finished: every step behaved as expected."));
    assert!(
        !out.stdout.contains("canary-demo-secret") && !out.stderr.contains("canary-demo-secret")
    );
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "the demo left {left:?}");
}
