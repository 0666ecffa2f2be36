//! The command line documents itself: every command and the connection environment.

use crate::support::{Test, Workspace};

#[test]
fn help_lists_every_command() {
    let out = Workspace::new().run(&["--help"]);
    assert_eq!(out.code, 0);
    for command in [
        "validate", "schema", "sandbox", "plan", "drift", "apply", "rotate", "demo", "export",
        "serve",
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
    let ws = Workspace::new();
    // Status 1: a usage error must not look like exit 2 (changes/drift).
    Test::new(&ws)
        .args(&["plan", "--format", "yaml"])
        .status(1)
        .stderr(
            r"error: invalid value 'yaml' for '--format <FORMAT>'
  [possible values: human, json, markdown]

For more information, try '--help'.
",
        )
        .run();
    Test::new(&ws)
        .args(&["plan", "manifests"])
        .status(1)
        .stderr("error: no admin URL: set --admin-url or BORUTA_ADMIN_URL (the listener serving /api)\n")
        .run();
}

/// Every command's (and subcommand's) name path, read from the command line's definition,
/// so a command added later is covered too.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in command.get_subcommands() {
            let mut deeper = path.clone();
            deeper.push(sub.get_name().to_string());
            walk(sub, deeper, out);
        }
    }
    let mut out = Vec::new();
    let cli = <boruta_gitops::cli::Cli as clap::CommandFactory>::command();
    walk(&cli, Vec::new(), &mut out);
    out.retain(|p| p.last().map(String::as_str) != Some("help"));
    out
}

/// The exact `--help` of every command is committed under tests/snapshots/help/, so help
/// cannot go stale without a test failing (issue #18). `UPDATE_SNAPSHOTS=1 cargo test help`
/// rewrites them; review the diff.
#[test]
fn every_commands_help_is_as_committed() {
    let dir = crate::runner::repo().join("tests/snapshots/help");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut stale = Vec::new();
    for path in command_paths() {
        let name = if path.is_empty() {
            "boruta-gitops".to_string()
        } else {
            path.join("-")
        };
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = Workspace::new().env("COLUMNS", "100").run(&args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let file = dir.join(format!("{name}.txt"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&file, &out.stdout).unwrap();
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(expected) if expected == out.stdout => {}
            Ok(expected) => stale.push(format!(
                "`{}` differs from {}:\n--- expected\n{expected}\n--- actual\n{}",
                args.join(" "),
                file.display(),
                out.stdout
            )),
            Err(_) => stale.push(format!("{} is missing", file.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n(UPDATE_SNAPSHOTS=1 cargo test help rewrites the snapshots)",
        stale.join("\n")
    );
}

/// What a newcomer read in help and tripped on (issue #18, items 6 and 9): the help of the
/// commands that do not take a saved plan never sends the reader to `apply --plan`; the
/// top-level help says apply updates and deletes; `--concurrency` bounds every request.
#[test]
fn help_says_what_each_command_does_today() {
    let ws = Workspace::new().env("COLUMNS", "100");
    for command in ["validate", "drift", "export"] {
        let out = ws.run(&[command, "--help"]);
        assert!(
            !out.stdout.contains("apply --plan"),
            "{command}: {}",
            out.stdout
        );
    }
    let plan = ws.run(&["plan", "--help"]);
    let mentions: Vec<&str> = plan
        .stdout
        .lines()
        .filter(|l| l.contains("apply --plan"))
        .collect();
    assert_eq!(
        mentions,
        ["          Save the plan (JSON, no secrets) for `apply --plan`"]
    );
    let top = ws.run(&["--help"]);
    assert!(
        top.stdout.contains("  apply        Do what the plan shows: create missing clients; with --update put drifted ones back\n               as git declares them; with --allow-delete delete those declared absent\n"),
        "{}",
        top.stdout
    );
    assert!(!top.stdout.contains("never changes"), "{}", top.stdout);
    let apply = ws.run(&["apply", "--help"]);
    assert!(
        apply
            .stdout
            .contains("          Requests in flight at once (creates, updates, deletes)\n"),
        "{}",
        apply.stdout
    );
}
