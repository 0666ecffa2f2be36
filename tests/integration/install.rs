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
