#!/bin/sh
# Finishes a release directory holding boruta-gitops-<V>-<target>.tar.gz archives: writes
# SHA256SUMS (verified by install.sh), VERSION (read by install.sh for "latest") and
# SOURCE_DIGEST (which source the binaries were built from; the action installs a release
# binary only for that source). Used by release.yml, and by the tests that serve a fake
# release.
#
#   sh .github/scripts/assemble-release.sh DIST_DIR VERSION SOURCE_DIR
set -eu
dist=$1
version=${2#v}
source_dir=$3
here=$(cd "$(dirname "$0")" && pwd)
cd "$dist"
: >SHA256SUMS
for archive in boruta-gitops-"$version"-*.tar.gz; do
    [ -f "$archive" ] || { echo "no archive for version $version in $dist" >&2; exit 1; }
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$archive" >>SHA256SUMS
    else
        shasum -a 256 "$archive" >>SHA256SUMS
    fi
done
printf '%s\n' "$version" >VERSION
sh "$here/../../install.sh" --print-source-digest "$source_dir" >SOURCE_DIGEST
