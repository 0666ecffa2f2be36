#!/usr/bin/env python3
"""`serve --update` against a sandbox holding 10,000 clients, for 100 cycles (issue #23):
its resident memory must stay flat. The clients are created first with `apply`; serve then
runs with a 1-hour interval and each further cycle is started with POST /reconcile as soon
as the previous one has ended, so 100 cycles take minutes, not 100 intervals. Every tenth
cycle has one client drifted on the server beforehand, which serve puts back (the write
path runs too). After each cycle the process's VmRSS is read from /proc; at the end its
VmHWM (peak). Environment: RUNS (default 3), COUNT (10000), CYCLES (100)."""
import base64, json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request
import measure

TRIGGER = "bench-trigger-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return answer.status, answer.read().decode()


def cycles_done(base):
    _, text = http("GET", base + "/metrics")
    done = 0
    for line in text.splitlines():
        if line.startswith("boruta_gitops_reconcile_total{"):
            done += int(float(line.rsplit(" ", 1)[1]))
    return done


def successes(base):
    _, text = http("GET", base + "/metrics")
    line = next(l for l in text.splitlines() if l.startswith('boruta_gitops_reconcile_total{result="success"}'))
    return int(float(line.rsplit(" ", 1)[1]))


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise SystemExit(f"no {key} for {pid}")


def drift_one(sandbox, i):
    """Changes client `i`'s redirect URIs on the server, as someone in the admin UI would."""
    basic = base64.b64encode(f"{measure.BOOT_ID}:{measure.BOOT_SECRET}".encode()).decode()
    _, text = http("POST", sandbox.url + "/oauth/token", b"grant_type=client_credentials&scope=clients:manage:all",
                   {"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"})
    token = json.loads(text)["access_token"]
    body = json.dumps({"client": {"redirect_uris": ["https://drifted.example.com/cb"]}}).encode()
    http("PATCH", f"{sandbox.url}/api/clients/{measure.uuid_for(i)}", body,
         {"authorization": f"Bearer {token}", "content-type": "application/json", "accept": "application/json"})


def wait(condition, what, limit=300):
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"waited {limit} s for {what}")
        time.sleep(0.02)


def one_run(manifests, count, cycles):
    with measure.Sandbox() as sandbox:
        env = sandbox.env()
        subprocess.run([measure.BIN, "apply", manifests, "--auto-approve", "--concurrency", "16", "--format", "json"],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env["BORUTA_GITOPS_TRIGGER_TOKEN"] = TRIGGER
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen([measure.BIN, "serve", manifests, "--listen", f"127.0.0.1:{port}", "--interval", "1h", "--update"],
                                env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait(lambda: _answers(base) and cycles_done(base) >= 1, "the first cycle")
            rss = [status_kib(proc.pid, "VmRSS")]
            durations = []
            for cycle in range(2, cycles + 1):
                if cycle % 10 == 0:
                    drift_one(sandbox, cycle)
                started = time.perf_counter()
                http("POST", base + "/reconcile", b"", {"authorization": f"Bearer {TRIGGER}"})
                wait(lambda: cycles_done(base) >= cycle, f"cycle {cycle}")
                durations.append(time.perf_counter() - started)
                rss.append(status_kib(proc.pid, "VmRSS"))
            if successes(base) != cycles:
                log.seek(0)
                raise SystemExit(f"not every cycle succeeded:\n{log.read().decode()[-4000:]}")
            peak = status_kib(proc.pid, "VmHWM")
        finally:
            proc.terminate()
            code = proc.wait(timeout=30)
        if code != 0:
            raise SystemExit(f"serve exited {code} on SIGTERM")
        return [k / 1024 for k in rss], peak / 1024, durations


def _answers(base):
    try:
        return http("GET", base + "/healthz")[0] == 200
    except OSError:
        return False


measure.build()
runs = int(os.environ.get("RUNS", "3"))
count = int(os.environ.get("COUNT", "10000"))
cycles = int(os.environ.get("CYCLES", "100"))
print(f"machine: {measure.machine()}")
with tempfile.TemporaryDirectory() as tmp:
    manifests = os.path.join(tmp, "m")
    measure.generate(manifests, count)
    for run in range(1, runs + 1):
        rss, peak, durations = one_run(manifests, count, cycles)
        at = lambda n: rss[n - 1]
        growth = at(cycles) - at(10)
        print(f"run {run}: {count} clients, {cycles} cycles ({cycles // 10} with an update): RSS after cycle 1 {at(1):.0f} MiB, "
              f"10 {at(10):.0f}, 50 {at(min(50, cycles)):.0f}, {cycles} {at(cycles):.0f}; median {statistics.median(rss):.0f}, "
              f"min {min(rss):.0f}, max {max(rss):.0f} MiB; cycle 10 -> {cycles}: {growth:+.1f} MiB; peak (VmHWM) {peak:.0f} MiB; "
              f"cycle median {statistics.median(durations):.3f} s")
        print(f"  RSS after each cycle (MiB): {' '.join(f'{r:.0f}' for r in rss)}")
