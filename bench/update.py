#!/usr/bin/env python3
"""`apply --update` of 1,000 drifted clients against a sandbox answering after 20 ms, at
--concurrency 16, against the ideal: `curl --parallel --parallel-max 16` sending the same
1,000 PATCHes (no plan, no verification, no read-back; target: apply within 1.25 x its
median, the two interleaved so that both see the same machine), and, for reference,
against the theoretical 1000 x 20 ms / 16 = 1.25 s. Each run gets a
fresh sandbox, where the 1,000 clients are first created (not timed); the manifests then
change one rendered field of every client (`pkce`) and one write-only field (`metadata`),
so each update is one PATCH carrying the change, the re-sent write-only field and the
scopes, verified against its 200 answer, and the run ends with apply's read-back (one more
list of the 1,000 clients)."""
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


def get(sandbox, token, path):
    out = subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {token}", sandbox.url + path], capture_output=True, check=True)
    return json.loads(out.stdout)["data"]


def timed_curl(created, config_dir):
    """The same PATCH bodies, sent 16 at a time by curl; only the PATCHes are timed."""
    with measure.Sandbox(latency_ms=latency) as sandbox:
        code, summary, _ = apply(sandbox, created)
        if code != 0 or summary["created"] != count:
            sys.exit(f"setup apply failed: {summary}")
        auth = f"{measure.BOOT_ID}:{measure.BOOT_SECRET}"
        token = json.loads(subprocess.run(["curl", "-s", "-u", auth, "-d", "grant_type=client_credentials&scope=clients:manage:all",
                                           sandbox.url + "/oauth/token"], capture_output=True, check=True).stdout)["access_token"]
        scopes = [{"id": s["id"]} for s in get(sandbox, token, "/api/scopes") if s["name"] in ("openid", "email")]
        config = os.path.join(config_dir, "patches.curl")
        with open(config, "w") as f:
            for i in range(count):
                body = json.dumps({"client": {"pkce": False, "metadata": {"team": "blue"}, "authorized_scopes": scopes}})
                f.write("next\n" if i else "")
                f.write(f'url = "{sandbox.url}/api/clients/{measure.uuid_for(i)}"\nrequest = "PATCH"\n'
                        f'header = "Authorization: Bearer {token}"\nheader = "content-type: application/json"\n'
                        f"data = {json.dumps(body)}\noutput = /dev/null\nwrite-out = \"%{{http_code}}\\n\"\n")
        start = time.perf_counter()
        out = subprocess.run(["curl", "-s", "--parallel", "--parallel-max", str(concurrency), "-K", config], capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        codes = out.stdout.split()
        if codes.count("200") != count:
            sys.exit(f"curl PATCHes answered {sorted(set(codes))} ({codes.count('200')} x 200)")
        return elapsed


with tempfile.TemporaryDirectory() as tmp:
    created, drifted = os.path.join(tmp, "created"), os.path.join(tmp, "drifted")
    measure.generate(created, count)
    measure.generate(drifted, count)
    for directory, team, pkce in ((created, "red", "true"), (drifted, "blue", "false")):
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            with open(path) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write(text.replace("pkce: true", f"pkce: {pkce}\nmetadata:\n  team: {team}"))
    # Interleaved, so both see the same machine load.
    times, curl_times = [], []
    for _ in range(runs):
        times.append(timed_update(created, drifted))
        curl_times.append(timed_curl(created, tmp))
median, curl = statistics.median(times), statistics.median(curl_times)
print(f"machine: {measure.machine()}")
print(f"apply --update of {count} drifted clients, {latency} ms latency, --concurrency {concurrency}: median {median:.3f} s over {runs} runs ({', '.join(f'{t:.3f}' for t in times)})")
print(f"ideal: curl --parallel-max {concurrency}, the same {count} PATCHes: median {curl:.3f} s ({', '.join(f'{t:.3f}' for t in curl_times)}); update / ideal = {median / curl:.2f} (target <= 1.25: {'ok' if median / curl <= 1.25 else 'MISSED'})")
print(f"theoretical {ideal:.2f} s (1000 x 20 ms / 16); update / theoretical = {median / ideal:.2f}")
