#!/usr/bin/env python3
"""Times `validate` on 10,000 generated manifests: median of 5 runs and peak memory, with
the security rules on (the default) and off (a policy turning every rule off), and the
`cat` floor (reading the same files: `find -print0 | xargs -0 cat`), runs interleaved so
all three see the same machine noise. Targets on the 2-core machine: under 1 s and under
100 MB (issue #2); the rules within 10% of no rules (issue #14); at most 2x `cat`
(issue #24)."""
import os, statistics, sys, tempfile
import measure

measure.build()
runs = int(os.environ.get("RUNS", "5"))
RULES = ["implicit-grant", "password-grant", "public-client-without-pkce", "public-client-credentials",
         "insecure-redirect-uri", "localhost-redirect-uri", "redirect-uri-reused", "jwt-auth-without-key",
         "jwt-auth-alg-mismatch", "symmetric-id-token-on-public-client", "secret-auth-preferred-asymmetric",
         "long-lived-access-token", "admin-scope-granted"]
with tempfile.TemporaryDirectory() as tmp:
    manifests = os.path.join(tmp, "m")
    measure.generate(manifests, 10_000)
    off = os.path.join(tmp, "rules-off.yaml")
    with open(off, "w") as f:
        f.write("rules:\n" + "".join(f"  {code}: off\n" for code in RULES))
    cat = ["sh", "-c", 'find "$0" -name "*.yaml" -print0 | xargs -0 cat >/dev/null', manifests]
    on_times, off_times, cat_times, peak = [], [], [], 0.0
    for _ in range(runs):
        _, [t], _ = measure.run(cat, 1)
        cat_times.append(t)
        _, [t], p = measure.run([measure.BIN, "validate", manifests, "--format", "json"], 1)
        on_times.append(t)
        peak = max(peak, p)
        _, [t], _ = measure.run([measure.BIN, "validate", manifests, "--format", "json", "--policy", off], 1)
        off_times.append(t)
median, median_off = statistics.median(on_times), statistics.median(off_times)
median_cat = statistics.median(cat_times)
print(f"machine: {measure.machine()}")
print(f"validate 10,000 manifests: median {median:.3f} s over {runs} runs ({', '.join(f'{t:.3f}' for t in on_times)}), peak RSS {peak:.0f} MiB")
print(f"  without the security rules: median {median_off:.3f} s ({', '.join(f'{t:.3f}' for t in off_times)}); rules / no rules = {median / median_off:.2f} (target <= 1.10: {'ok' if median / median_off <= 1.10 else 'MISSED'})")
print(f"  cat of the same files: median {median_cat:.3f} s ({', '.join(f'{t:.3f}' for t in cat_times)}); validate / cat = {median / median_cat:.2f} (target <= 2.00: {'ok' if median / median_cat <= 2 else 'MISSED'})")
print(f"targets: < 1 s -> {'ok' if median < 1 else 'MISSED'}; < 100 MB -> {'ok' if peak < 100 else 'MISSED'}")
