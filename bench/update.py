#!/usr/bin/env python3
"""`apply --update` of 1,000 drifted clients against a sandbox answering after 20 ms, at
--concurrency 16, against the ideal 1000 x 20 ms / 16 = 1.25 s (target: within 1.25 x the
ideal). Each run gets a fresh sandbox, where the 1,000 clients are first created (not
timed); the manifests then change one field of every client (`pkce`), so each update is
one PATCH whose 200 answer is verified against the manifest."""
import json, os, statistics, subprocess, sys, tempfile, time
import measure

measure.build()
runs = int(os.environ.get("RUNS", "5"))
count, latency, concurrency = 1000, 20, 16
ideal = count * latency / 1000 / concurrency


def apply(sandbox, manifests, *extra):
    cmd = [measure.BIN, "apply", manifests, "--auto-approve", "--concurrency", str(concurrency), "--format", "json", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=sandbox.env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    report = json.loads(proc.stdout)
    return proc.returncode, report["summary"], elapsed


def timed_update(created, drifted):
    with measure.Sandbox(latency_ms=latency) as sandbox:
        code, summary, _ = apply(sandbox, created)
        if code != 0 or summary["created"] != count:
            sys.exit(f"setup apply failed: {summary}")
        code, summary, elapsed = apply(sandbox, drifted, "--update")
        if code != 0 or summary["updated"] != count:
            sys.exit(f"apply --update failed: {summary}")
        return elapsed


with tempfile.TemporaryDirectory() as tmp:
    created, drifted = os.path.join(tmp, "created"), os.path.join(tmp, "drifted")
    measure.generate(created, count)
    measure.generate(drifted, count)
    for name in os.listdir(drifted):
        path = os.path.join(drifted, name)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("pkce: true", "pkce: false"))
    times = [timed_update(created, drifted) for _ in range(runs)]
median = statistics.median(times)
print(f"machine: {measure.machine()}")
print(f"apply --update of {count} drifted clients, {latency} ms latency, --concurrency {concurrency}: median {median:.3f} s over {runs} runs ({', '.join(f'{t:.3f}' for t in times)})")
print(f"ideal {ideal:.2f} s; update / ideal = {median / ideal:.2f} (target <= 1.25: {'ok' if median / ideal <= 1.25 else 'MISSED'})")
