#!/usr/bin/env python3
"""The peers benchmark: builds both binaries, runs them interleaved
(migrate's, the others', migrate's, ...), and prints each scenario's time
as a ratio to the floor measured by the same binary in the same run
(each binary links its own SQLite), as the median over the runs.

    python3 benches/peers/run.py [--runs 3] [--rounds 15] [--only TEXT]

Each binary runs every case once per round, in a shuffled order, and
reports medians; see common/harness.rs.
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BINARIES = {"migrate": "peers-migrate", "others": "peers-others"}
LIBRARIES = ["refinery", "rusqlite_migration", "migrate"]


def build(target):
    for crate in BINARIES:
        subprocess.run(
            ["cargo", "build", "--release", "--quiet"],
            cwd=os.path.join(HERE, crate),
            env={**os.environ, "CARGO_TARGET_DIR": target},
            check=True,
        )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--only", default=None)
    parser.add_argument("--target", default=os.environ.get(
        "CARGO_TARGET_DIR", os.path.join(HERE, "target")))
    args = parser.parse_args()
    build(args.target)
    # ratios[scenario][library] -> one ratio per run; absolute[...] -> ns
    ratios, absolute = {}, {}
    for run in range(args.runs):
        for crate, binary in BINARIES.items():
            command = [os.path.join(args.target, "release", binary),
                       "--rounds", str(args.rounds), "--seed", str(run + 1)]
            if args.only:
                command += ["--only", args.only]
            print(f"run {run + 1}/{args.runs}: {binary}", file=sys.stderr)
            output = subprocess.run(command, check=True, capture_output=True,
                                    text=True, cwd=HERE).stdout
            medians = {}
            for line in output.splitlines():
                scenario, library, ns, _ = line.split("\t")
                medians[(scenario, library)] = int(ns)
            for (scenario, library), ns in medians.items():
                absolute.setdefault(scenario, {}).setdefault(library, []).append(ns)
                floor = medians.get((scenario, "floor"))
                if library != "floor" and floor:
                    ratios.setdefault(scenario, {}).setdefault(library, []).append(ns / floor)
    print("| scenario | floor | " + " | ".join(LIBRARIES) + " |")
    print("|---|---|" + "---|" * len(LIBRARIES))
    for scenario in sorted(absolute, key=order):
        floor = absolute[scenario].get("floor")
        cells = [f"1.00 ({fmt(statistics.median(floor))})" if floor else "—"]
        for library in LIBRARIES:
            if scenario in ratios and library in ratios[scenario]:
                values = ratios[scenario][library]
                cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")
            elif library in absolute[scenario]:
                cells.append(fmt(statistics.median(absolute[scenario][library])))
            else:
                cells.append("—")
        print(f"| {scenario} | " + " | ".join(cells) + " |")


def order(scenario):
    words = scenario.split()
    return (words[0], words[2], int(words[1]), words[3:])


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e3:.1f} µs"


if __name__ == "__main__":
    main()
