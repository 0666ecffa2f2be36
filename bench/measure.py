#!/usr/bin/env python3
"""Shared helpers of the benchmark scripts: generate manifests, run a command several
times, report the median wall time and the peak resident memory of the child."""

import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# cargo builds into CARGO_TARGET_DIR when it is set; BENCH_BIN measures another binary
# (an A/B comparison) and skips the build.
BIN = os.environ.get("BENCH_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release", "boruta-gitops")
IDP_NAME = "Default identity provider"


def build():
    if os.environ.get("BENCH_BIN"):
        return
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)


def machine():
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB"


def generate(directory, count, per_file=1):
    """Writes `count` realistic client manifests, `per_file` documents per file."""
    os.makedirs(directory, exist_ok=True)
    docs = []
    for i in range(count):
        docs.append(
            f"""id: {uuid_for(i)}
name: service-{i:05d}
confidential: true
redirect_uris:
  - https://service-{i:05d}.example.com/callback
  - https://service-{i:05d}.example.com/silent
supported_grant_types: [client_credentials, authorization_code, refresh_token]
token_endpoint_auth_methods: [client_secret_basic]
access_token_ttl: 3600
refresh_token_ttl: 86400
pkce: true
authorize_scope: true
authorized_scopes:
  - name: openid
  - name: email
identity_provider:
  name: {IDP_NAME}
"""
        )
    for start in range(0, count, per_file):
        with open(os.path.join(directory, f"client-{start:05d}.yaml"), "w") as f:
            f.write("---\n".join(docs[start : start + per_file]))


def uuid_for(i):
    return f"00000000-0000-4000-8000-{i:012d}"


def run(cmd, runs=5, env=None, expect=(0,)):
    """Runs `cmd` `runs` times; returns (median seconds, all seconds, peak RSS MiB)."""
    times = []
    peak = 0.0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would include cargo).
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        peak = max(peak, usage.ru_maxrss / 1024)
        code = os.waitstatus_to_exitcode(status)
        if code not in expect:
            sys.exit(f"{' '.join(cmd)} exited {code}")
        times.append(elapsed)
    return statistics.median(times), times, peak


BOOT_ID = "00000000-b007-4000-8000-00000000bbbb"
BOOT_SECRET = "bench-bootstrap-secret"


class Sandbox:
    """`boruta-gitops sandbox` as a subprocess on an ephemeral loopback port."""

    def __init__(self, latency_ms=0):
        cmd = [BIN, "sandbox", "--listen", "127.0.0.1:0", "--bootstrap-client-id", BOOT_ID,
               "--bootstrap-client-secret", BOOT_SECRET, "--latency-ms", str(latency_ms)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"sandbox did not start: {self.url!r}")

    def env(self):
        env = dict(os.environ)
        env.update({
            "BORUTA_ADMIN_URL": self.url,
            "BORUTA_TOKEN_URL": self.url + "/oauth/token",
            "BORUTA_CLIENT_ID": BOOT_ID,
            "BORUTA_CLIENT_SECRET": BOOT_SECRET,
        })
        env.pop("RUST_LOG", None)
        return env

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
