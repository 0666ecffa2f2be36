#!/usr/bin/env bash
# `apply --update` of 1,000 drifted clients against a sandbox answering after 20 ms, at
# --concurrency 16, against the ideal 1000 x 20 ms / 16 = 1.25 s (target: within 1.25 x the
# ideal). Each run gets a fresh sandbox.
exec python3 "$(dirname "$0")/update.py" "$@"
