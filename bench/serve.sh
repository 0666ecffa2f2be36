#!/usr/bin/env bash
# `serve --update` with 10,000 clients for 100 cycles: resident memory after each cycle,
# which must stay flat (issue #23).
exec python3 "$(dirname "$0")/serve.py" "$@"
