#!/usr/bin/env python3
"""`validate --all-envs` of 3 environments x 1,000 manifests that read `${var:..}` values,
compared with one `validate --env` of the same manifests (issue #22: within 3x)."""
import os
import measure

measure.build()
runs = int(os.environ.get("RUNS", "7"))
count = int(os.environ.get("COUNT", "1000"))

import tempfile
with tempfile.TemporaryDirectory() as tmp:
    manifests = os.path.join(tmp, "manifests")
    os.makedirs(manifests)
    for i in range(count):
        with open(os.path.join(manifests, f"web-{i:04d}.yaml"), "w") as f:
            f.write(f"""id: {measure.uuid_for(i)}
name: web-{i:04d}
supported_grant_types: [authorization_code, refresh_token]
pkce: true
redirect_uris: ["https://web-{i:04d}.${{var:domain}}/callback"]
access_token_ttl: ${{var:web_ttl}}
identity_provider:
  name: {measure.IDP_NAME}
""")
    os.makedirs(os.path.join(tmp, "environments"))
    for name, domain, ttl in [("dev", "dev.example.com", 300), ("staging", "staging.example.com", 600), ("production", "example.com", 900)]:
        with open(os.path.join(tmp, "environments", f"{name}.yaml"), "w") as f:
            f.write(f"admin_url: https://boruta.{domain}\nvars:\n  domain: {domain}\n  web_ttl: {ttl}\n")
    os.chdir(tmp)
    one, one_times, one_peak = measure.run([measure.BIN, "validate", "manifests", "--env", "staging", "--format", "json"], runs)
    all_, all_times, all_peak = measure.run([measure.BIN, "validate", "manifests", "--all-envs", "--format", "json"], runs)
print(f"machine: {measure.machine()}")
print(f"validate --env staging, {count} manifests: median {one:.3f} s ({', '.join(f'{t:.3f}' for t in one_times)}), peak RSS {one_peak:.0f} MiB")
print(f"validate --all-envs, 3 x {count}: median {all_:.3f} s ({', '.join(f'{t:.3f}' for t in all_times)}), peak RSS {all_peak:.0f} MiB")
print(f"ratio = {all_ / one:.2f} (goal <= 3)")
