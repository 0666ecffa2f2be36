//! install.sh (issue #12) against a loopback server holding a release made the way
//! release.yml makes one (`.github/scripts/assemble-release.sh`), from the binary under
//! test: a good install, the latest version, a checksum mismatch refused, an unknown
//! platform, a missing version, a release built from other source.

use crate::fakes::{static_files, HttpServer};
use crate::runner::repo;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate's version, the one the action installs by default.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// This machine's target triple, as install.sh names it.
pub fn target() -> String {
    let arch = String::from_utf8(Command::new("uname").arg("-m").output().unwrap().stdout).unwrap();
    let arch = match arch.trim() {
        "arm64" | "aarch64" => "aarch64",
        _ => "x86_64",
    };
    format!("{arch}-unknown-linux-gnu")
}

/// A release directory (`download/v<V>/...`, `latest/download/VERSION`) and its server.
pub struct Release {
    pub dir: PathBuf,
    pub server: HttpServer,
}

impl Release {
    pub fn url(&self) -> &str {
        &self.server.url
    }

    pub fn assets(&self) -> PathBuf {
        self.dir.join(format!("download/v{VERSION}"))
    }
}

/// The binary under test as release `VERSION`, built from this repository: packaged once
/// per test run (compressing 50 MB takes seconds), below cargo's target/tmp.
pub fn fake_release() -> &'static Release {
    static RELEASE: std::sync::OnceLock<Release> = std::sync::OnceLock::new();
    RELEASE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fake-release");
        let _ = std::fs::remove_dir_all(&dir);
        release_of(Path::new(crate::support::BIN), &dir)
    })
}

/// A release of a stand-in binary, in `dir` (the tests that never run the binary).
fn stub_release(dir: &tempfile::TempDir) -> Release {
    let stub = dir.path().join("stub");
    std::fs::write(&stub, format!("#!/bin/sh\necho boruta-gitops {VERSION}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    release_of(&stub, &dir.path().join("release"))
}

/// Packages `binary` as release `VERSION` the way release.yml does, and serves it.
fn release_of(binary: &Path, dir: &Path) -> Release {
    let assets = dir.join(format!("download/v{VERSION}"));
    std::fs::create_dir_all(&assets).unwrap();
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::copy(binary, staging.join("boruta-gitops")).unwrap();
    let archive = assets.join(format!("boruta-gitops-{VERSION}-{}.tar.gz", target()));
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&staging)
        .arg("boruta-gitops")
        .status()
        .unwrap();
    assert!(tar.success());
    let assembled = Command::new("sh")
        .arg(repo().join(".github/scripts/assemble-release.sh"))
        .arg(&assets)
        .arg(VERSION)
        .arg(repo())
        .status()
        .unwrap();
    assert!(assembled.success());
    let latest = dir.join("latest/download");
    std::fs::create_dir_all(&latest).unwrap();
    std::fs::copy(assets.join("VERSION"), latest.join("VERSION")).unwrap();
    let server = static_files(dir.to_path_buf());
    Release {
        dir: dir.to_path_buf(),
        server,
    }
}

struct Installed {
    code: i32,
    stderr: String,
    stdout: String,
}

fn install(args: &[&str], path: Option<&Path>) -> Installed {
    let mut command = Command::new("sh");
    command.arg(repo().join("install.sh")).args(args);
    command.env_remove("BORUTA_GITOPS_BASE_URL");
    // These tests are about the checksum and the platform; the attestation has its own.
    command.env("BORUTA_GITOPS_ATTESTATION", "skip");
    if let Some(dir) = path {
        let system = std::env::var("PATH").unwrap_or_default();
        command.env("PATH", format!("{}:{system}", dir.display()));
    }
    let out = command.output().unwrap();
    Installed {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn installs_the_given_and_the_latest_version() {
    let release = fake_release();
    let to = tempfile::tempdir().unwrap();
    let bin = to.path().join("bin");
    let out = install(
        &[
            "--version",
            VERSION,
            "--to",
            bin.to_str().unwrap(),
            "--base-url",
            release.url(),
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "boruta-gitops {VERSION} ({}) installed in {}\n",
            target(),
            bin.display()
        )
    );
    let version = Command::new(bin.join("boruta-gitops"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("boruta-gitops {VERSION}\n")
    );
    // Without --version: the latest, read from latest/download/VERSION; the base URL from
    // the environment.
    std::fs::remove_file(bin.join("boruta-gitops")).unwrap();
    let out = Command::new("sh")
        .arg(repo().join("install.sh"))
        .args(["--to", bin.to_str().unwrap()])
        .env("BORUTA_GITOPS_BASE_URL", release.url())
        .env("BORUTA_GITOPS_ATTESTATION", "skip")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(bin.join("boruta-gitops").exists());
}

#[test]
fn a_checksum_mismatch_installs_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let release = stub_release(&scratch);
    let archive = release
        .assets()
        .join(format!("boruta-gitops-{VERSION}-{}.tar.gz", target()));
    let mut bytes = std::fs::read(&archive).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let to = tempfile::tempdir().unwrap();
    let out = install(
        &[
            "--version",
            VERSION,
            "--to",
            to.path().to_str().unwrap(),
            "--base-url",
            release.url(),
        ],
        None,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("checksum mismatch for boruta-gitops-"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.ends_with("; nothing installed\n"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);
}

#[test]
fn an_unknown_platform_is_said_clearly() {
    let scratch = tempfile::tempdir().unwrap();
    let release = stub_release(&scratch);
    let fake = tempfile::tempdir().unwrap();
    let uname = fake.path().join("uname");
    std::fs::write(
        &uname,
        "#!/bin/sh\ncase \"$1\" in -s) echo Plan9 ;; *) echo x86_64 ;; esac\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&uname, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let to = tempfile::tempdir().unwrap();
    let out = install(
        &[
            "--version",
            VERSION,
            "--to",
            to.path().to_str().unwrap(),
            "--base-url",
            release.url(),
        ],
        Some(fake.path()),
    );
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr,
        "install.sh: no release binary for this system (Plan9): build from source with cargo install --locked\n"
    );
}

#[test]
fn a_missing_version_is_said_clearly() {
    let scratch = tempfile::tempdir().unwrap();
    let release = stub_release(&scratch);
    let to = tempfile::tempdir().unwrap();
    let out = install(
        &[
            "--version",
            "9.9.9",
            "--to",
            to.path().to_str().unwrap(),
            "--base-url",
            release.url(),
        ],
        None,
    );
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr,
        format!(
            "install.sh: no release v9.9.9 at {} (check --version)\n",
            release.url()
        )
    );
}

#[test]
fn a_release_of_other_source_is_not_installed_for_this_source() {
    let scratch = tempfile::tempdir().unwrap();
    let release = stub_release(&scratch);
    let digest = String::from_utf8(
        Command::new("sh")
            .arg(repo().join("install.sh"))
            .arg("--print-source-digest")
            .arg(repo())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();
    let out = install(
        &[
            "--version",
            VERSION,
            "--to",
            dir,
            "--base-url",
            release.url(),
            "--source-digest",
            digest.trim(),
        ],
        None,
    );
    assert_eq!(out.code, 0, "the same source: {}", out.stderr);
    let out = install(
        &[
            "--version",
            VERSION,
            "--to",
            dir,
            "--base-url",
            release.url(),
            "--source-digest",
            "0000",
        ],
        None,
    );
    assert_eq!(out.code, 3);
    assert!(
        out.stderr
            .contains("was built from other source than this one"),
        "{}",
        out.stderr
    );
}

// Issue #19, item 8: https only, and the release's GitHub attestation.

/// An executable shell script `name` in `dir`.
fn tool(dir: &Path, name: &str, script: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// install.sh with `path` first on PATH and `env` set (the attestation mode unset unless
/// `env` sets it).
fn install_env(args: &[&str], path: &Path, env: &[(&str, &str)]) -> Installed {
    let mut command = Command::new("sh");
    command.arg(repo().join("install.sh")).args(args);
    command.env_remove("BORUTA_GITOPS_BASE_URL");
    command.env_remove("BORUTA_GITOPS_ATTESTATION");
    let system = std::env::var("PATH").unwrap_or_default();
    command.env("PATH", format!("{}:{system}", path.display()));
    command.envs(env.iter().copied());
    let out = command.output().unwrap();
    Installed {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The lines a recording fake tool wrote (one argument a line, calls separated by `--`).
fn recorded(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .map(|text| text.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn downloads_are_https_only_and_plain_http_only_from_loopback() {
    let fakes = tempfile::tempdir().unwrap();
    let log = fakes.path().join("curl.log");
    // A curl that records its arguments and cannot connect: no test leaves loopback.
    tool(
        fakes.path(),
        "curl",
        &format!(
            "for a in \"$@\"; do printf '%s\\n' \"$a\" >>'{}'; done\necho -- >>'{}'\nexit 7\n",
            log.display(),
            log.display()
        ),
    );
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();
    for base in [
        "http://releases.example.com/r",
        "HTTP://releases.example.com/r",
        "ftp://releases.example.com/r",
        "file:///tmp/r",
        "http://127.0.0.1.evil.example/r",
    ] {
        let out = install_env(
            &["--version", "1.2.3", "--to", dir, "--base-url", base],
            fakes.path(),
            &[],
        );
        assert_eq!(out.code, 1, "{base}");
        assert_eq!(
            out.stderr,
            format!("install.sh: refusing {base}: releases are downloaded over https only (plain http only from a loopback address, 127.0.0.1, [::1] or localhost)\n")
        );
        assert_eq!(
            recorded(&log),
            Vec::<String>::new(),
            "{base}: nothing downloaded"
        );
    }
    // https: curl is told to speak https only, redirects included, TLS 1.2 at least.
    let out = install_env(
        &[
            "--version",
            "1.2.3",
            "--to",
            dir,
            "--base-url",
            "https://releases.example.com/r/",
        ],
        fakes.path(),
        &[],
    );
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "install.sh: cannot download https://releases.example.com/r/download/v1.2.3/SHA256SUMS\n"
    );
    let mut args = recorded(&log);
    let file = args.iter().position(|a| a == "-o").unwrap() + 1;
    args[file] = "FILE".into();
    assert_eq!(
        args,
        [
            "-sSL",
            "--proto",
            "=https",
            "--proto-redir",
            "=https",
            "--tlsv1.2",
            "-o",
            "FILE",
            "-w",
            "%{http_code}",
            "https://releases.example.com/r/download/v1.2.3/SHA256SUMS",
            "--"
        ]
    );
}

/// A fake `gh` whose `auth status` exits `auth` and whose `attestation verify` records
/// its arguments in `log`, prints `said` and exits `verify`.
fn fake_gh(dir: &Path, log: &Path, auth: i32, verify: i32, said: &str) {
    tool(
        dir,
        "gh",
        &format!(
            "case \"$1 $2\" in\n  'auth status') exit {auth} ;;\n  'attestation verify') for a in \"$@\"; do printf '%s\\n' \"$a\" >>'{}'; done; printf '%s\\n' '{said}' >&2; exit {verify} ;;\nesac\nexit 99\n",
            log.display()
        ),
    );
}

#[test]
fn a_release_whose_attestation_does_not_verify_installs_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let release = stub_release(&scratch);
    let fakes = tempfile::tempdir().unwrap();
    let log = fakes.path().join("gh.log");
    fake_gh(
        fakes.path(),
        &log,
        0,
        1,
        "X Verification failed: no attestations found",
    );
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();
    let args = [
        "--version",
        VERSION,
        "--to",
        dir,
        "--base-url",
        release.url(),
    ];
    let archive = format!("boruta-gitops-{VERSION}-{}.tar.gz", target());
    let out = install_env(&args, fakes.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!("X Verification failed: no attestations found\ninstall.sh: the GitHub attestation of {archive} does not verify (gh attestation verify --repo boruta-gitops/boruta-gitops, above): it was not built by this project's release workflow, or was altered; nothing installed\n")
    );
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);
    let called = recorded(&log);
    assert_eq!(called.len(), 5, "{called:?}");
    assert_eq!(called[..2], ["attestation", "verify"]);
    assert!(called[2].ends_with(&format!("/{archive}")), "{called:?}");
    assert_eq!(called[3..], ["--repo", "boruta-gitops/boruta-gitops"]);
    // Verified: installed, and said.
    std::fs::remove_file(&log).unwrap();
    fake_gh(fakes.path(), &log, 0, 0, "ok");
    let out = install_env(&args, fakes.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!("install.sh: {archive}: checksum and GitHub attestation (boruta-gitops/boruta-gitops) verified\n")
    );
    assert!(to.path().join("boruta-gitops").exists());
}

#[test]
fn without_gh_the_attestation_is_skipped_aloud_or_required() {
    let scratch = tempfile::tempdir().unwrap();
    let release = stub_release(&scratch);
    let fakes = tempfile::tempdir().unwrap();
    let log = fakes.path().join("gh.log");
    // gh installed but not logged in: the checksum only, and the output says so.
    fake_gh(fakes.path(), &log, 1, 0, "ok");
    let to = tempfile::tempdir().unwrap();
    let dir = to.path().to_str().unwrap();
    let args = [
        "--version",
        VERSION,
        "--to",
        dir,
        "--base-url",
        release.url(),
    ];
    let archive = format!("boruta-gitops-{VERSION}-{}.tar.gz", target());
    let out = install_env(&args, fakes.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!("install.sh: {archive}: checksum verified; its GitHub attestation was not checked (gh is not logged in: gh auth login, or set GH_TOKEN; --attestation require makes this an error)\n")
    );
    assert_eq!(recorded(&log), Vec::<String>::new());
    // Required: refused, nothing installed.
    std::fs::remove_file(to.path().join("boruta-gitops")).unwrap();
    let required = [&args[..], &["--attestation", "require"]].concat();
    let out = install_env(&required, fakes.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "install.sh: --attestation require: gh is not logged in (gh auth login, or set GH_TOKEN), so the GitHub attestation cannot be verified; nothing installed\n"
    );
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);
    // The environment sets the mode too; `skip` is said as well.
    let out = install_env(
        &args,
        fakes.path(),
        &[("BORUTA_GITOPS_ATTESTATION", "skip")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!("install.sh: {archive}: checksum verified; its GitHub attestation was not checked (--attestation skip)\n")
    );
    let out = install_env(
        &[&args[..], &["--attestation", "maybe"]].concat(),
        fakes.path(),
        &[],
    );
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "install.sh: --attestation is auto, require or skip, not maybe\n"
    );
}
