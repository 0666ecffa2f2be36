#!/usr/bin/env bash
# Times `validate` on 10,000 generated manifests: median of 5 runs and peak memory.
# Target (issue #2) on the 2-core machine: under 1 s and under 100 MB.
exec python3 "$(dirname "$0")/validate.py" "$@"
