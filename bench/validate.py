#!/usr/bin/env python3
"""Times `validate` on 10,000 generated manifests: median of 5 runs and peak memory.
Target (issue #2) on the 2-core machine: under 1 s and under 100 MB."""
import os, sys, tempfile
import measure

measure.build()
runs = int(os.environ.get("RUNS", "5"))
with tempfile.TemporaryDirectory() as tmp:
    measure.generate(os.path.join(tmp, "m"), 10_000)
    median, times, peak = measure.run([measure.BIN, "validate", os.path.join(tmp, "m"), "--format", "json"], runs)
print(f"machine: {measure.machine()}")
print(f"validate 10,000 manifests: median {median:.3f} s over {runs} runs ({', '.join(f'{t:.3f}' for t in times)}), peak RSS {peak:.0f} MiB")
print(f"targets: < 1 s -> {'ok' if median < 1 else 'MISSED'}; < 100 MB -> {'ok' if peak < 100 else 'MISSED'}")
