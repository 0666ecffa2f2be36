#!/usr/bin/env python3
"""`plan` of 10,000 manifests against a sandbox holding the same 10,000 clients, compared
with `validate` of the same manifests. Target (issue #4): plan at most 1.5 x validate,
under 3 s, under 200 MB."""
import os, subprocess, sys, tempfile
import measure

measure.build()
runs = int(os.environ.get("RUNS", "5"))
count = int(os.environ.get("COUNT", "10000"))
with tempfile.TemporaryDirectory() as tmp:
    manifests = os.path.join(tmp, "m")
    measure.generate(manifests, count)
    with measure.Sandbox() as sandbox:
        env = sandbox.env()
        # Setup (not timed): create the same clients on the server.
        subprocess.run([measure.BIN, "apply", manifests, "--auto-approve", "--concurrency", "16", "--format", "json"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        v_median, v_times, v_peak = measure.run([measure.BIN, "validate", manifests, "--format", "json"], runs, env)
        p_median, p_times, p_peak = measure.run([measure.BIN, "plan", manifests, "--format", "json", "--detailed-exitcode"], runs, env)
print(f"machine: {measure.machine()}")
print(f"validate {count} manifests: median {v_median:.3f} s ({', '.join(f'{t:.3f}' for t in v_times)}), peak RSS {v_peak:.0f} MiB")
print(f"plan {count} vs {count} clients: median {p_median:.3f} s ({', '.join(f'{t:.3f}' for t in p_times)}), peak RSS {p_peak:.0f} MiB")
ratio = p_median / v_median
print(f"plan / validate = {ratio:.2f} (target <= 1.5: {'ok' if ratio <= 1.5 else 'MISSED'}); "
      f"< 3 s: {'ok' if p_median < 3 else 'MISSED'}; < 200 MB: {'ok' if p_peak < 200 else 'MISSED'}")
