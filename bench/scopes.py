#!/usr/bin/env python3
"""Scopes at scale (issue #20): 1,000 scope manifests and 10,000 clients that each name
two of them, applied once (setup, not timed); then `plan` of the whole set against the
server (everything in sync) compared with `validate` of the same set, as the plan goals
of issue #24 ask (plan at most 1.5 x validate)."""
import os, statistics, subprocess
import measure

measure.build()
runs = int(os.environ.get("RUNS", "5"))
clients = int(os.environ.get("CLIENTS", "10000"))
scopes = int(os.environ.get("SCOPES", "1000"))


def scope_id(i):
    return f"00000000-0000-4000-9000-{i:012d}"


def generate(directory):
    os.makedirs(os.path.join(directory, "scopes"), exist_ok=True)
    for i in range(scopes):
        with open(os.path.join(directory, "scopes", f"scope-{i:04d}.yaml"), "w") as f:
            f.write(f"kind: Scope\nid: {scope_id(i)}\nname: api:{i:04d}:read\nlabel: Read API {i}\npublic: {'true' if i % 10 == 0 else 'false'}\n")
    for i in range(clients):
        a, b = i % scopes, (i * 7 + 3) % scopes
        with open(os.path.join(directory, f"client-{i:05d}.yaml"), "w") as f:
            f.write(f"""id: {measure.uuid_for(i)}
name: service-{i:05d}
confidential: true
supported_grant_types: [client_credentials]
token_endpoint_auth_methods: [client_secret_basic]
access_token_ttl: 900
authorize_scope: true
authorized_scopes:
  - name: api:{a:04d}:read
  - id: {scope_id(b)}
identity_provider:
  name: {measure.IDP_NAME}
""")


import tempfile
with tempfile.TemporaryDirectory() as tmp:
    manifests = os.path.join(tmp, "m")
    generate(manifests)
    with measure.Sandbox() as sandbox:
        env = sandbox.env()
        subprocess.run([measure.BIN, "apply", manifests, "--auto-approve", "--concurrency", "16", "--format", "json"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        # Interleaved, so that both commands see the same noise of a shared machine.
        v_times, p_times, v_peak, p_peak = [], [], 0.0, 0.0
        for _ in range(runs):
            _, [t], peak = measure.run([measure.BIN, "validate", manifests, "--format", "json"], 1, env)
            v_times.append(t)
            v_peak = max(v_peak, peak)
            _, [t], peak = measure.run([measure.BIN, "plan", manifests, "--format", "json", "--detailed-exitcode"], 1, env)
            p_times.append(t)
            p_peak = max(p_peak, peak)
        v_median, p_median = statistics.median(v_times), statistics.median(p_times)
print(f"machine: {measure.machine()}")
print(f"validate {scopes} scopes + {clients} clients: median {v_median:.3f} s ({', '.join(f'{t:.3f}' for t in v_times)}), peak RSS {v_peak:.0f} MiB")
print(f"plan of the same, all in sync: median {p_median:.3f} s ({', '.join(f'{t:.3f}' for t in p_times)}), peak RSS {p_peak:.0f} MiB")
print(f"plan / validate = {p_median / v_median:.2f} (goal <= 1.5)")
