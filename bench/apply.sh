#!/usr/bin/env bash
# `apply` of 1,000 creates against a sandbox answering after 20 ms, at --concurrency 16,
# against the ideal 1000 x 20 ms / 16 = 1.25 s (target: within 1.25 x the ideal) and against
# a sequential curl loop sending the same creates. Each run gets a fresh sandbox.
exec python3 "$(dirname "$0")/apply.py" "$@"
