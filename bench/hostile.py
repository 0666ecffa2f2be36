#!/usr/bin/env python3
"""The worst case of each loader (issue #19): time and peak memory of `validate` on the
most hostile input a pull request can make for it. Every case must end in well under a
second or two and a bounded amount of memory, with a finding rather than a crash.

BIN=path/to/boruta-gitops uses that binary instead of building the release one; RUNS=N
the number of runs (3). Needs /usr/bin/time (GNU time) for the peak memory."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402

BIN = os.environ.get("BIN", measure.BIN)
MIB = 1024 * 1024
BASE = """id: 11111111-1111-4111-8111-111111111111
name: hostile
access_token_ttl: 900
pkce: true
supported_grant_types: [authorization_code]
redirect_uris: [https://app.example.com/cb]
identity_provider:
  name: Default identity provider
"""


def waiver_scan(size):
    """One waiver above a block scalar whose lines get ever deeper, each followed by blank
    lines: the input that made the old waiver scan quadratic (15.7 s at 6 MB; the same
    shape as tests/integration/boundaries.rs `deepening_block`)."""
    parts = ["# boruta-gitops:allow implicit-grant hostile input\n", BASE, "metadata:\n  note: |\n"]
    length = sum(map(len, parts))
    depth = 4
    blanks = "\n" * 2000
    while length < size:
        line = " " * depth + "x\n" + blanks
        parts.append(line)
        length += len(line)
        depth += 1
    return "".join(parts)


def alias_bomb():
    """Nine levels of ten aliases: 10^9 values once expanded."""
    lines = ['a0: &a0 "lol"']
    for level in range(1, 10):
        refs = ", ".join(f"*a{level - 1}" for _ in range(10))
        lines.append(f"a{level}: &a{level} [{refs}]")
    return BASE + "\n".join(lines) + "\n"


def cases():
    """(name, files {relative path: bytes}, extra args)."""
    yield "waiver scan, 6 MB (one waiver, a block scalar ever deeper, blank lines)", {
        "m.yaml": waiver_scan(6_000_000).encode()}, []
    yield "waiver scan, 15.9 MB (just under the 16 MiB file limit)", {
        "m.yaml": waiver_scan(15_900_000).encode()}, []
    yield "a manifest file over 16 MiB (refused unread)", {
        "m.yaml": (BASE + "description: " + "x" * (16 * MIB) + "\n").encode()}, []
    yield "alias bomb (10^9 values once expanded; budget 100,000)", {
        "m.yaml": alias_bomb().encode()}, []
    yield "nesting, 1,000,000 levels of `[` (limit 64)", {
        "m.yaml": (BASE + "x: " + "[" * 1_000_000 + "\n").encode()}, []
    yield "200,000 keys, each written twice", {
        "m.yaml": (BASE + "".join(f"k{i}: 1\nk{i}: 2\n" for i in range(200_000))).encode()}, []
    yield "15 MiB of bytes that are not UTF-8", {
        "m.yaml": b"name: \xff\xfe" + b"\xc3\x28" * (15 * MIB // 2) + b"\n"}, []
    files = {"secret.txt": b"s" * (MIB - 1)}
    refs = "".join(f"  - name: v{i}\n    value: ${{file:secret.txt}}\n" for i in range(10_000))
    files["m.yaml"] = (BASE + "metadata:\n" + refs).encode()
    yield "one 1 MiB ${file:..} named 10,000 times (10 GiB of copies; budget 256 MiB)", files, []
    many = {f"f{i:05d}.yaml": (BASE.replace("hostile", f"h{i}").replace(
        "11111111-1111-4111-8111-111111111111", measure.uuid_for(i)) + "description: " +
        "y" * (2 * MIB) + "\n").encode() for i in range(200)}
    yield "200 files of 2 MiB (400 MiB; budget 256 MiB)", many, []


def run(cmd, runs):
    """Runs `cmd` `runs` times under /usr/bin/time: (median s, all s, peak RSS MiB). Not
    measure.run: the peak RSS of a child forked from this Python process counts the
    Python image it was forked from (Linux keeps ru_maxrss across exec), which holds the
    generated input here."""
    times, peak = [], 0.0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            sys.exit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-500:]}")
        peak = max(peak, int(proc.stderr.strip().splitlines()[-1]) / 1024)
    return statistics.median(times), times, peak


def main():
    if "BIN" not in os.environ:
        measure.build()
    print(measure.machine())
    print("| Input | Findings (distinct codes) | Median | Runs | Peak RSS |")
    print("|---|---|---|---|---|")
    for name, files, args in cases():
        with tempfile.TemporaryDirectory() as work:
            directory = os.path.join(work, "manifests")
            os.makedirs(directory)
            for relative, data in files.items():
                with open(os.path.join(directory, relative), "wb") as f:
                    f.write(data)
            del files
            cmd = [BIN, "validate", directory, "--format", "json"] + args
            median, times, peak = run(cmd, int(os.environ.get("RUNS", "3")))
            runs = " ".join(f"{t:.3f}" for t in times)
            found = subprocess.run(cmd, capture_output=True, text=True).stdout
            codes = sorted({d["code"] for d in json.loads(found)["diagnostics"]})
            print(f"| {name} | {', '.join(codes)} | {median:.3f} s | {runs} | {peak:.0f} MiB |",
                  flush=True)


if __name__ == "__main__":
    main()
