#!/usr/bin/env python3
"""`apply` of 1,000 creates against a sandbox answering after 20 ms, at --concurrency 16,
against the ideal 1000 x 20 ms / 16 = 1.25 s (target: within 1.25 x the ideal) and against
a sequential curl loop sending the same creates. Each run gets a fresh sandbox."""
import json, os, statistics, subprocess, sys, tempfile, time
import measure

measure.build()
runs = int(os.environ.get("RUNS", "5"))
curl_runs = int(os.environ.get("CURL_RUNS", "3"))
count, latency, concurrency = 1000, 20, 16
ideal = count * latency / 1000 / concurrency

def timed_apply(manifests):
    with measure.Sandbox(latency_ms=latency) as sandbox:
        start = time.perf_counter()
        proc = subprocess.Popen([measure.BIN, "apply", manifests, "--auto-approve", "--concurrency", str(concurrency), "--format", "json"],
                                env=sandbox.env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out, _ = proc.communicate()
        _, status, usage = (proc.pid, proc.returncode, None)
        elapsed = time.perf_counter() - start
        report = json.loads(out)
        if proc.returncode != 0 or report["summary"]["created"] != count:
            sys.exit(f"apply failed: {report['summary']}")
        return elapsed

def timed_curl_loop():
    with measure.Sandbox(latency_ms=latency) as sandbox:
        auth = f"{measure.BOOT_ID}:{measure.BOOT_SECRET}"
        token = json.loads(subprocess.run(["curl", "-s", "-u", auth, "-d", "grant_type=client_credentials&scope=clients:manage:all identity-providers:manage:all",
                                           sandbox.url + "/oauth/token"], capture_output=True, check=True).stdout)["access_token"]
        idps = json.loads(subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {token}", sandbox.url + "/api/identity-providers"],
                                         capture_output=True, check=True).stdout)["data"]
        idp = next(i["id"] for i in idps if i["name"] == measure.IDP_NAME)
        start = time.perf_counter()
        for i in range(count):
            body = json.dumps({"client": {"id": measure.uuid_for(i), "name": f"service-{i:05d}", "confidential": True,
                                          "redirect_uris": [f"https://service-{i:05d}.example.com/callback"],
                                          "supported_grant_types": ["client_credentials"], "identity_provider": {"id": idp}}})
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: Bearer {token}",
                                  "-H", "content-type: application/json", "-d", body, sandbox.url + "/api/clients"], capture_output=True, text=True)
            if out.stdout != "201":
                sys.exit(f"curl create {i} answered {out.stdout}")
        return time.perf_counter() - start

with tempfile.TemporaryDirectory() as tmp:
    manifests = os.path.join(tmp, "m")
    measure.generate(manifests, count)
    apply_times = [timed_apply(manifests) for _ in range(runs)]
curl_times = [timed_curl_loop() for _ in range(curl_runs)]
a, c = statistics.median(apply_times), statistics.median(curl_times)
print(f"machine: {measure.machine()}")
print(f"apply {count} creates, {latency} ms latency, --concurrency {concurrency}: median {a:.3f} s over {runs} runs ({', '.join(f'{t:.3f}' for t in apply_times)})")
print(f"ideal {ideal:.2f} s; apply / ideal = {a / ideal:.2f} (target <= 1.25: {'ok' if a / ideal <= 1.25 else 'MISSED'})")
print(f"sequential curl loop, same creates: median {c:.2f} s over {curl_runs} runs ({', '.join(f'{t:.2f}' for t in curl_times)}); apply is {c / a:.1f}x faster")
