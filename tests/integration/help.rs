//! The command line documents itself: every command and the connection environment.

use crate::support::Workspace;

#[test]
fn help_lists_every_command() {
    let out = Workspace::new().run(&["--help"]);
    assert_eq!(out.code, 0);
    for command in [
        "validate", "schema", "sandbox", "plan", "drift", "apply", "demo", "export",
    ] {
        assert!(
            out.stdout.contains(&format!("  {command} ")),
            "--help lacks {command}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn connection_help_names_the_environment_and_hides_secrets() {
    let ws = Workspace::new()
        .env("BORUTA_CLIENT_SECRET", "help-canary-secret")
        .env("BORUTA_ACCESS_TOKEN", "help-canary-token");
    let out = ws.run(&["plan", "--help"]);
    assert_eq!(out.code, 0);
    for env in [
        "[env: BORUTA_ADMIN_URL=]",
        "[env: BORUTA_TOKEN_URL=]",
        "[env: BORUTA_CLIENT_ID=]",
        "[env: BORUTA_CLIENT_SECRET]",
        "[env: BORUTA_ACCESS_TOKEN]",
        "[env: BORUTA_FILE_ROOTS=]",
        "[env: BORUTA_VERSION=]",
        "[env: BORUTA_ADMIN_OAUTH_CLIENT_ID=",
    ] {
        assert!(
            out.stdout.contains(env),
            "plan --help lacks {env}:\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("help-canary"), "{}", out.stdout);
}

#[test]
fn usage_errors_exit_nonzero_with_a_message() {
    let out = Workspace::new().run(&["plan", "--format", "yaml"]);
    assert_eq!(
        out.code, 1,
        "a usage error must not look like exit 2 (changes/drift)"
    );
    assert!(
        out.stderr
            .contains("invalid value 'yaml' for '--format <FORMAT>'"),
        "{}",
        out.stderr
    );
    let out = Workspace::new().run(&["plan", "manifests"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: no admin URL: set --admin-url or BORUTA_ADMIN_URL (the listener serving /api)\n"
    );
}
