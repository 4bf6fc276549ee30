#!/usr/bin/env python3
"""Line coverage report for CI, from `cargo llvm-cov --json --summary-only` output.

    coverage.py CURRENT.json [--base BASE.json] [--floor PERCENT] [--root DIR] > report.md

Prints a Markdown report: the workspace's line coverage, its change against the base branch's
(when BASE.json is given: the last successful run on the base branch), per crate, and the files
whose coverage moved most. Exits 1 when the total is below the floor, 0 otherwise; 2 on bad input.
Standard library only: it runs on any runner with Python 3.8+.
"""
import argparse
import json
import os
import sys
from collections import defaultdict


def load(path, root):
    """{file (relative to root): (covered, count)} and the totals, from llvm-cov's JSON export."""
    with open(path, encoding="utf-8") as f:
        export = json.load(f)
    files = {}
    for data in export.get("data", []):
        for entry in data.get("files", []):
            name = entry["filename"]
            if root and name.startswith(root):
                name = os.path.relpath(name, root)
            lines = entry["summary"]["lines"]
            files[name] = (lines["covered"], lines["count"])
    covered = sum(c for c, _ in files.values())
    count = sum(n for _, n in files.values())
    return files, (covered, count)


def pct(covered, count):
    return 100.0 * covered / count if count else 100.0


def crate_of(name):
    return name.split("/", 1)[0] if "/" in name else "(root)"


def by_crate(files):
    crates = defaultdict(lambda: [0, 0])
    for name, (covered, count) in files.items():
        crates[crate_of(name)][0] += covered
        crates[crate_of(name)][1] += count
    return crates


def delta(now, before):
    if before is None:
        return "—"
    d = now - before
    arrow = "🔺" if d > 0.005 else ("🔻" if d < -0.005 else "=")
    return f"{arrow} {d:+.2f} pp"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("current")
    parser.add_argument("--base")
    parser.add_argument("--floor", type=float, default=0.0)
    parser.add_argument("--root", default=os.getcwd())
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    root = args.root.rstrip("/") + "/"
    try:
        files, (covered, count) = load(args.current, root)
        base_files, base_total = (load(args.base, root) if args.base and os.path.exists(args.base) else (None, None))
    except (OSError, ValueError, KeyError) as e:
        print(f"coverage.py: cannot read the coverage data: {e}", file=sys.stderr)
        return 2

    total = pct(covered, count)
    base_pct = pct(*base_total) if base_total else None
    ok = total >= args.floor
    out = ["<!-- kura-coverage -->", "## Line coverage", ""]
    out.append(f"**{total:.2f}%** of {count:,} lines ({covered:,} covered)"
               + (f", {delta(total, base_pct)} against the base branch ({base_pct:.2f}%)" if base_pct is not None
                  else ", no base-branch figure yet"))
    out.append("")
    out.append(f"Floor: {args.floor:.2f}% — " + ("✅ met" if ok else "❌ **below the floor: this fails the job**"))
    out.append("")
    out += ["| crate | lines | covered | change |", "|---|---:|---:|---:|"]
    base_crates = by_crate(base_files) if base_files else {}
    for crate, (c, n) in sorted(by_crate(files).items()):
        before = pct(*base_crates[crate]) if crate in base_crates else None
        out.append(f"| `{crate}` | {n:,} | {pct(c, n):.2f}% | {delta(pct(c, n), before)} |")
    if base_files:
        moved = []
        for name, (c, n) in files.items():
            now = pct(c, n)
            before = pct(*base_files[name]) if name in base_files else None
            if before is None or abs(now - before) >= 0.01:
                moved.append((now - (before if before is not None else now), name, now, before))
        moved.sort(key=lambda m: (m[0], m[1]))
        if moved:
            out += ["", "<details><summary>Files whose coverage changed most</summary>", "",
                    "| file | coverage | change |", "|---|---:|---:|"]
            for _, name, now, before in moved[: args.top]:
                out.append(f"| `{name}` | {now:.2f}% | {'new' if before is None else delta(now, before)} |")
            out += ["", "</details>"]
    print("\n".join(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
