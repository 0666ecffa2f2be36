#!/bin/sh
# Installs a boruta-gitops release binary for this machine, verified against the release's
# SHA256SUMS and, where the GitHub CLI can check it, the GitHub artifact attestation that
# the release workflow signs; needs no root. Downloads over https only.
#
#   sh install.sh [--version V] [--to DIR] [--base-url URL] [--source-digest DIGEST]
#                 [--attestation auto|require|skip]
#   sh install.sh --print-source-digest DIR
#
# --version V       the release to install (default: the latest, read from
#                   <base>/latest/download/VERSION)
# --to DIR          where to put the binary (default: ~/.local/bin)
# --base-url URL    the releases URL (default: $BORUTA_GITOPS_BASE_URL, else the project's
#                   GitHub releases); under it: download/v<V>/boruta-gitops-<V>-<target>.tar.gz,
#                   download/v<V>/SHA256SUMS, latest/download/VERSION. https only (plain
#                   http only from a loopback address, for tests)
# --source-digest D install only if the release was built from the source whose digest is
#                   D (download/v<V>/SOURCE_DIGEST); the GitHub Action uses it to fall back to
#                   building from source for any other commit
# --attestation M   auto (default; $BORUTA_GITOPS_ATTESTATION): with gh (the GitHub CLI)
#                   installed and logged in, verify the archive's attestation (built by
#                   this project's release workflow) and refuse it if it does not verify;
#                   otherwise check the checksum only, and say so. require: refuse when it
#                   cannot be verified. skip: the checksum only
# --print-source-digest DIR
#                   print the digest of the source tree DIR (Cargo.toml, Cargo.lock, src/)
#
# Exit codes: 0 installed; 1 an error (download failed, checksum or attestation mismatch:
# nothing is installed); 3 no release binary for this request (unknown platform, no such version, a
# release built from other source).
set -eu

REPOSITORY="boruta-gitops/boruta-gitops"
BASE_DEFAULT="https://github.com/$REPOSITORY/releases"

fail() {
    printf 'install.sh: %s\n' "$1" >&2
    exit "${2:-1}"
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 "$1" | sed 's/.*= *//'
    else
        fail "no sha256sum, shasum or openssl to verify the download with"
    fi
}

# The digest of a source tree: its build inputs, by path and content, in a fixed order.
source_digest() {
    dir=$1
    list=$(mktemp)
    (
        cd "$dir"
        find Cargo.toml Cargo.lock src -type f | LC_ALL=C sort | while IFS= read -r f; do
            printf '%s %s\n' "$(sha256 "$f")" "$f"
        done
    ) >"$list"
    sha256 "$list"
    rm -f "$list"
}

# The base URL, if it is https, or plain http to a loopback address (tests); else refused:
# a release fetched in clear text can be swapped along with its checksums.
check_base() {
    case "$1" in
        https://*) return 0 ;;
        http://*) ;;
        *) refuse_base "$1" ;;
    esac
    host=${1#http://}
    host=${host%%/*}
    case "$host" in
        "[::1]" | "[::1]:"*) return 0 ;;
    esac
    host=${host%:*}
    if [ "$host" = localhost ] || printf '%s\n' "$host" | grep -Eq '^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$'; then
        return 0
    fi
    refuse_base "$1"
}

refuse_base() {
    fail "refusing $1: releases are downloaded over https only (plain http only from a loopback address, 127.0.0.1, [::1] or localhost)"
}

# download URL FILE: 0 on success, 3 when the server says there is no such file. curl
# speaks https only, redirects included (plain http only to the loopback base of tests).
download() {
    if command -v curl >/dev/null 2>&1; then
        proto="=https"
        case "$1" in http://*) proto="=http,https" ;; esac
        status=$(curl -sSL --proto "$proto" --proto-redir "$proto" --tlsv1.2 -o "$2" -w '%{http_code}' "$1") ||
            fail "cannot download $1"
        case "$status" in
            2??) return 0 ;;
            404) return 3 ;;
            *) fail "downloading $1: HTTP $status" ;;
        esac
    elif command -v wget >/dev/null 2>&1; then
        if wget -q -O "$2" "$1"; then return 0; fi
        return 3
    else
        fail "neither curl nor wget is available to download with"
    fi
}

# verify_attestation FILE NAME: checks the GitHub artifact attestation of FILE (signed by
# the release workflow, actions/attest-build-provenance) with gh, per --attestation. The
# checksum comes from the same place as the archive; the attestation does not.
verify_attestation() {
    why=""
    hint=""
    if [ "$attestation" = skip ]; then
        why="--attestation skip"
    elif ! command -v gh >/dev/null 2>&1; then
        why="gh, the GitHub CLI, is not installed"
        hint="https://cli.github.com"
    elif ! gh auth status >/dev/null 2>&1; then
        why="gh is not logged in"
        hint="gh auth login, or set GH_TOKEN"
    fi
    if [ -n "$why" ]; then
        if [ "$attestation" = require ]; then
            fail "--attestation require: $why ($hint), so the GitHub attestation cannot be verified; nothing installed"
        fi
        if [ "$attestation" = auto ]; then
            why="$why: $hint; --attestation require makes this an error"
        fi
        printf 'install.sh: %s: checksum verified; its GitHub attestation was not checked (%s)\n' "$2" "$why" >&2
        return 0
    fi
    if ! said=$(gh attestation verify "$1" --repo "$REPOSITORY" 2>&1); then
        printf '%s\n' "$said" >&2
        fail "the GitHub attestation of $2 does not verify (gh attestation verify --repo $REPOSITORY, above): it was not built by this project's release workflow, or was altered; nothing installed"
    fi
    printf 'install.sh: %s: checksum and GitHub attestation (%s) verified\n' "$2" "$REPOSITORY" >&2
}

target_triple() {
    os=$(uname -s)
    arch=$(uname -m)
    case "$arch" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) fail "no release binary for this processor ($arch): build from source with cargo install --locked" 3 ;;
    esac
    case "$os" in
        Linux) echo "$arch-unknown-linux-gnu" ;;
        Darwin) echo "$arch-apple-darwin" ;;
        MINGW* | MSYS* | CYGWIN* | Windows_NT)
            [ "$arch" = x86_64 ] || fail "no release binary for Windows on $arch" 3
            echo "x86_64-pc-windows-msvc"
            ;;
        *) fail "no release binary for this system ($os): build from source with cargo install --locked" 3 ;;
    esac
}

version=""
to="${HOME:-.}/.local/bin"
base="${BORUTA_GITOPS_BASE_URL:-$BASE_DEFAULT}"
want_digest=""
attestation="${BORUTA_GITOPS_ATTESTATION:-auto}"
while [ $# -gt 0 ]; do
    case "$1" in
        --version) version=${2:?--version needs a value}; shift 2 ;;
        --to) to=${2:?--to needs a directory}; shift 2 ;;
        --base-url) base=${2:?--base-url needs a URL}; shift 2 ;;
        --source-digest) want_digest=${2:?--source-digest needs a digest}; shift 2 ;;
        --attestation) attestation=${2:?--attestation needs auto, require or skip}; shift 2 ;;
        --print-source-digest) source_digest "${2:?--print-source-digest needs a directory}"; exit 0 ;;
        -h | --help) sed -n '2,35p' "$0"; exit 0 ;;
        *) fail "unknown argument $1 (see --help)" ;;
    esac
done
base=${base%/}
version=${version#v}
case "$attestation" in
    auto | require | skip) ;;
    *) fail "--attestation is auto, require or skip, not $attestation" ;;
esac
check_base "$base"

target=$(target_triple)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

if [ -z "$version" ]; then
    download "$base/latest/download/VERSION" "$work/VERSION" || fail "no latest release at $base" 3
    version=$(head -n 1 "$work/VERSION" | tr -d ' \r\n')
    version=${version#v}
    [ -n "$version" ] || fail "$base/latest/download/VERSION is empty"
fi

release="$base/download/v$version"
archive="boruta-gitops-$version-$target.tar.gz"
download "$release/SHA256SUMS" "$work/SHA256SUMS" || fail "no release v$version at $base (check --version)" 3
if [ -n "$want_digest" ]; then
    if ! download "$release/SOURCE_DIGEST" "$work/SOURCE_DIGEST"; then
        fail "release v$version does not say which source it was built from" 3
    fi
    [ "$(tr -d ' \r\n' <"$work/SOURCE_DIGEST")" = "$want_digest" ] ||
        fail "release v$version was built from other source than this one" 3
fi
expected=$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1 }' "$work/SHA256SUMS")
[ -n "$expected" ] || fail "release v$version has no binary for $target" 3
download "$release/$archive" "$work/$archive" || fail "release v$version lists $archive but does not serve it"
actual=$(sha256 "$work/$archive")
[ "$actual" = "$expected" ] ||
    fail "checksum mismatch for $archive: expected $expected, got $actual; nothing installed"
verify_attestation "$work/$archive" "$archive"

mkdir -p "$work/unpacked"
tar -xzf "$work/$archive" -C "$work/unpacked"
binary=boruta-gitops
[ -f "$work/unpacked/$binary.exe" ] && binary=boruta-gitops.exe
[ -f "$work/unpacked/$binary" ] || fail "$archive holds no boruta-gitops binary at its top level"
mkdir -p "$to"
chmod +x "$work/unpacked/$binary"
# Moved into place whole: a failed install never leaves half a binary.
mv "$work/unpacked/$binary" "$to/$binary.partial"
mv "$to/$binary.partial" "$to/$binary"
printf 'boruta-gitops %s (%s) installed in %s\n' "$version" "$target" "$to"
