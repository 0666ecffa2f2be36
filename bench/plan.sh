#!/usr/bin/env bash
# `plan` of 10,000 manifests against a sandbox holding the same 10,000 clients, compared
# with `validate` of the same manifests. Target (issue #4): plan at most 1.5 x validate,
# under 3 s, under 200 MB.
exec python3 "$(dirname "$0")/plan.py" "$@"
