#!/usr/bin/env python3
"""Touch-rebuild: the wall time of `cargo build` (dev profile) after the
user edits their own `src/main.rs`, in a crate embedding 1000 migrations,
beside the same crate with refinery and with rusqlite alone.

    python3 benches/peers/rebuild.py [--count 1000] [--rounds 5]
        [--target DIR] [--work DIR] [--skip-folder]

Generates, in a temporary folder (`--work` to keep it), the migrations of
the peers bench (`common/harness.rs`: a table and two rows each) and four
binary crates from the templates in `rebuild/`, each its own workspace:

    rusqlite          rusqlite 0.42 alone, opening an in-memory database
    refinery          refinery 0.10's `embed_migrations!`, run
    migrate           `migrate::embed_migrations!("migrations")`, run
    migrate-unchecked the same with `verify = false`

Each crate is built once (not timed). Then, for `--rounds` rounds, each
crate in turn (the order rotating every round): the first line of
`src/main.rs` is rewritten with the round's number, and `cargo build` is
timed. Then the same with one migration file changed (a comment appended
to the last one: a new content every time, so `migrate` runs its check
again), for the crates that embed a folder. Every timed build must relink
the binary, or the script stops.

Prints, per case, the median and range of the wall time and of the CPU
time (user and system, of cargo and all it ran; less disturbed by other
work on the machine), and the ratio of each round's wall time to the same
round's rusqlite-only touch-rebuild and refinery's build of the same case
(median, range).

The builds share one target directory (`--target`, or else a temporary
one, removed at the end): `migrate`'s check keeps its outcome in
`<target>/migrate-check/`.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(HERE, "rebuild")
REPOSITORY = os.path.dirname(os.path.dirname(HERE))
# name -> (template, package, options of `embed_migrations!`, lock file to
# start from: the versions the rest of the peers bench uses)
CRATES = {
    "rusqlite": ("rusqlite", "rebuild-rusqlite", None, "migrate"),
    "refinery": ("refinery", "rebuild-refinery", None, "others"),
    "migrate": ("migrate", "rebuild-migrate", "", "migrate"),
    "migrate-unchecked": ("migrate", "rebuild-migrate-unchecked", ", verify = false", "migrate"),
}
EMBEDDING = ["refinery", "migrate", "migrate-unchecked"]
TOUCH, FOLDER = "touch-rebuild", "folder changed"


def migrations(count):
    """`(version, name, sql)` as `common/harness.rs` generates them."""
    return [
        (version, f"table_{version}",
         f"CREATE TABLE t{version} (id INTEGER PRIMARY KEY, value TEXT);\n"
         f"INSERT INTO t{version} (value) VALUES ('a'), ('b');\n")
        for version in range(1, count + 1)
    ]


def write_crate(work, crate, generated, migrate_path):
    template, package, options, lock = CRATES[crate]
    root = os.path.join(work, crate)
    os.makedirs(os.path.join(root, "src"))
    with open(os.path.join(TEMPLATES, template, "Cargo.toml.in")) as f:
        manifest = f.read().replace("@NAME@", package).replace("@MIGRATE@", migrate_path)
    with open(os.path.join(root, "Cargo.toml"), "w") as f:
        f.write(manifest)
    with open(os.path.join(TEMPLATES, template, "main.rs")) as f:
        main = f.read().replace("@OPTIONS@", options or "")
    with open(os.path.join(root, "src", "main.rs"), "w") as f:
        f.write(main)
    shutil.copy(os.path.join(HERE, lock, "Cargo.lock"), root)
    if crate in EMBEDDING:
        shutil.copy(os.path.join(TEMPLATES, "build.rs"), root)
        folder = os.path.join(root, "migrations")
        os.makedirs(folder)
        for version, name, sql in generated:
            file = (f"V{version}__{name}.sql" if crate == "refinery"
                    else f"{version:04}_{name}.sql")
            with open(os.path.join(folder, file), "w") as f:
                f.write(sql)
    return root


def last_migration(root):
    folder = os.path.join(root, "migrations")
    files = sorted(os.listdir(folder), key=lambda file: int(file.lstrip("V").split("_")[0]))
    return os.path.join(folder, files[-1])


def touch(root, round_):
    """Rewrites the first line of `src/main.rs`: a real change of content."""
    path = os.path.join(root, "src", "main.rs")
    with open(path) as f:
        lines = f.read().split("\n", 1)
    with open(path, "w") as f:
        f.write(f"// touch: round {round_}\n" + lines[1])


def change_folder(root, mark):
    with open(last_migration(root), "a") as f:
        f.write(f"-- changed: {mark}\n")


def cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def build(root, target, package):
    """Runs `cargo build` in `root`; returns its wall time and the CPU time
    (user and system) of cargo and what it ran, in seconds."""
    binary = os.path.join(target, "debug", package)
    before = os.stat(binary).st_mtime_ns if os.path.exists(binary) else None
    cpu = cpu_of_children()
    started = time.perf_counter()
    done = subprocess.run(["cargo", "build", "--quiet"], cwd=root,
                          env={**os.environ, "CARGO_TARGET_DIR": target},
                          capture_output=True, text=True)
    took = (time.perf_counter() - started, cpu_of_children() - cpu)
    if done.returncode != 0:
        sys.exit(f"cargo build failed in {root}:\n{done.stderr}")
    if before is not None and os.stat(binary).st_mtime_ns == before:
        sys.exit(f"cargo build in {root} did not rebuild {package}")
    return took


def kept_outcomes(target):
    folder = os.path.join(target, "migrate-check")
    return len(os.listdir(folder)) if os.path.isdir(folder) else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--target", help="the shared CARGO_TARGET_DIR (default: a temporary one)")
    parser.add_argument("--work", help="a new folder to generate the crates in, kept "
                        "(default: a temporary one)")
    parser.add_argument("--migrate", default=REPOSITORY, help="the `migrate` crate to build")
    parser.add_argument("--skip-folder", action="store_true", help="touch-rebuilds only")
    args = parser.parse_args()
    if args.work and os.path.exists(args.work):
        sys.exit(f"{args.work} exists: give --work a new folder")
    work = args.work or tempfile.mkdtemp(prefix="migrate-rebuild-")
    target = os.path.abspath(args.target or tempfile.mkdtemp(prefix="migrate-rebuild-target-"))
    temporary = [folder for folder, given in [(work, args.work), (target, args.target)]
                 if not given]
    try:
        os.makedirs(work, exist_ok=True)
        generated = migrations(args.count)
        roots = {crate: write_crate(work, crate, generated, os.path.abspath(args.migrate))
                 for crate in CRATES}
        for crate, root in roots.items():
            print(f"first build: {crate}", file=sys.stderr)
            build(root, target, CRATES[crate][1])
        times = {}  # (case, crate) -> (wall, CPU) per round
        checks = {}  # case -> how many timed builds ran the check
        cases = [(TOUCH, list(CRATES))]
        if not args.skip_folder:
            cases.append((FOLDER, EMBEDDING))
        # A mark no earlier run used, so a changed folder is never one whose
        # check outcome an earlier run kept in the same target directory.
        run_mark = time.time_ns()
        for case, crates in cases:
            checks[case] = 0
            for round_ in range(1, args.rounds + 1):
                shift = round_ % len(crates)
                for crate in crates[shift:] + crates[:shift]:
                    root = roots[crate]
                    if case == TOUCH:
                        touch(root, round_)
                    else:
                        change_folder(root, f"round {round_} of run {run_mark}")
                    kept = kept_outcomes(target)
                    took = build(root, target, CRATES[crate][1])
                    checks[case] += kept_outcomes(target) - kept
                    times.setdefault((case, crate), []).append(took)
                    print(f"{case} {round_}/{args.rounds} {crate}: "
                          f"{took[0]:.2f} s, CPU {took[1]:.2f} s", file=sys.stderr)
        report(times, cases, args, checks)
    finally:
        for folder in temporary:
            shutil.rmtree(folder, ignore_errors=True)


def report(times, cases, args, checks):
    print(f"{args.count} migrations, {args.rounds} rounds: wall and CPU seconds, "
          "median (range); the ratios are of each round's wall time, median (range)")
    print()
    print("| case | crate | wall s | CPU s | ÷ rusqlite-only touch | ÷ refinery, same case |")
    print("|---|---|---|---|---|---|")
    baseline = [wall for wall, _ in times[(TOUCH, "rusqlite")]]
    for case, crates in cases:
        refinery = [wall for wall, _ in times[(case, "refinery")]]
        for crate in crates:
            wall = [wall for wall, _ in times[(case, crate)]]
            cpu = [cpu for _, cpu in times[(case, crate)]]
            cells = [spread(wall), spread(cpu),
                     spread([w / b for w, b in zip(wall, baseline)])]
            cells.append("—" if crate == "refinery"
                         else spread([w / r for w, r in zip(wall, refinery)]))
            print(f"| {case} | {crate} | " + " | ".join(cells) + " |")
    # A check that ran kept a new outcome: expected once per folder-changed
    # round (of the checked crate), never on a touch.
    print()
    print("build-time checks run by the timed builds: "
          + ", ".join(f"{case} {count}" for case, count in checks.items()))


def spread(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


if __name__ == "__main__":
    main()
