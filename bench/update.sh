#!/usr/bin/env bash
# `apply --update` of 1,000 drifted clients against a sandbox answering after 20 ms, at
# --concurrency 16, against the ideal: curl --parallel sending the same 1,000 PATCHes 16 at
# a time (target: within 1.25 x), and the theoretical 1000 x 20 ms / 16 = 1.25 s. Each run
# gets a fresh sandbox.
exec python3 "$(dirname "$0")/update.py" "$@"
