"""`python -m bench.regress [--runs DIR ...] [--z 3] [--update]`: guard the benchmark numbers.

Without --runs it re-runs the regression suite (suite.py); with --runs it reads
finished run dirs. Every tracked metric is compared with results/baselines (rules in
compare.py) and the graders re-score their frozen completions exactly (graders.py).
Prints one table; exits 1 naming every regression (an improvement never fails),
2 on a usage error. --update rewrites the baselines instead and prints what changed.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import sys
import textwrap
from pathlib import Path

from bench import resources
from bench.regress import baselines, graders, suite, table
from bench.regress.compare import Row, compare_run, exact_rule_applies, missing
from bench.regress.runs import Run, load_run, run_suite

MAX_ITEMS_SHOWN = 10


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.regress", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", type=Path, metavar="DIR", help="compare these finished run dirs instead of re-running the suite")
    parser.add_argument("--z", type=float, default=3.0, help="statistical rule: fail beyond z * sqrt(se_base^2 + se_new^2) (default 3)")
    parser.add_argument("--update", action="store_true", help="rewrite the baselines from fresh (or the given) runs and print what changed")
    parser.add_argument("--only", nargs="+", metavar="CELL", help=f"only these cells: {', '.join(c.id for c in suite.CELLS)}")
    parser.add_argument("--graders-only", action="store_true", help="only the exact grader check (seconds)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runs in parallel, one CPU thread each (default: one per core)")
    parser.add_argument("--repeats", type=int, help="runs of each cell (default 1; 2 with --update, to verify bit-determinism)")
    parser.add_argument("--out", type=Path, help="where fresh runs go (default results/runs/regress/<time>, under the current directory)")
    return parser.parse_args(argv)


def gather(args: argparse.Namespace, cells: list[suite.Cell]) -> tuple[dict[suite.Cell, list[Run]], list[Row]]:
    """The runs of `cells`, made now or read from --runs, and a failing row for each that is unusable."""
    found: dict[suite.Cell, list[Run]] = {}
    problems: list[Row] = []
    paths: list[Path] = list(args.runs or [])
    if not args.runs:
        repeats = args.repeats or (2 if args.update else 1)
        out = args.out or Path("results") / "runs" / "regress" / datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        for repeat in range(repeats):
            root = out / f"repeat{repeat + 1}" if repeats > 1 else out
            for cell, path in run_suite(cells, root, args.jobs).items():
                if path is None:
                    problems.append(missing(cell.id, f"the run failed; see {root / cell.id}.log"))
                else:
                    paths.append(path)
    for path in paths:
        try:
            run = load_run(path)
        except ValueError as error:
            problems.append(Row(str(path), "", "", "", "", "INCOMPARABLE", str(error)))
            continue
        if run.cell in cells:
            found.setdefault(run.cell, []).append(run)
    return found, problems


def rule_note(baseline: dict, run: Run) -> str | None:
    """Why a deterministic baseline is checked statistically against this run, or None."""
    if not baseline.get("deterministic") or exact_rule_applies(baseline, run):
        return None
    old, new = _flat(baseline.get("fingerprint") or {}), _flat(run.fingerprint)
    differ = [f"{k} {old.get(k)} -> {new.get(k)}" for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]
    return f"{run.cell.id}: statistical rule, not exact, since this environment differs from the baseline's ({'; '.join(differ)})"


def _flat(fingerprint: dict) -> dict:
    """`{"host": {"cpu": x}}` -> `{"host.cpu": x}`, so a note names exactly what differs."""
    flat = {}
    for key, value in fingerprint.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{sub}": v for sub, v in value.items()})
        else:
            flat[key] = value
    return flat


def check_cells(args: argparse.Namespace, cells: list[suite.Cell]) -> list[Row]:
    runs, rows = gather(args, cells)
    for cell in cells:
        if args.runs and cell not in runs:
            print(f"{cell.id}: no run given, not checked")
            continue
        baseline = baselines.load(cell)
        if baseline is None:
            rows.append(missing(cell.id, "no baseline; create it with --update"))
            continue
        for run in runs.get(cell, []):
            note = rule_note(baseline, run)
            if note:
                print(note)
            rows += compare_run(baseline, run, args.z)
    return rows


def check_graders() -> list[Row]:
    items = graders.load()
    if not items:
        return [missing("graders", f"no {graders.GRADERS_FILE.name}; create it with --update")]
    rows = []
    for grader, moved in graders.changed(items).items():
        total = sum(i["grader"] == grader for i in items)
        shown = [f"{frozen['id']} {frozen['completion'][:50]!r} (gold {str(frozen['gold'])[-30:]!r}): {graders.score_diff(frozen['score'], now)}" for frozen, now in moved[:MAX_ITEMS_SHOWN]]
        more = [f"... and {len(moved) - MAX_ITEMS_SHOWN} more"] if len(moved) > MAX_ITEMS_SHOWN else []
        note = f"{len(moved)} frozen items changed score:\n" + textwrap.indent("\n".join(shown + more), "    ") if moved else ""
        rows.append(Row(f"graders/{grader}", f"{total} items", f"{total - len(moved)} same", f"{len(moved)} changed", "exact", "REGRESSED" if moved else "ok", note))
    return rows


def update(args: argparse.Namespace, cells: list[suite.Cell]) -> int:
    runs, problems = gather(args, cells) if not args.graders_only else ({}, [])
    if problems:
        print(table.summary(problems) + "\nbaselines not updated")
        return 1
    lines = []
    for cell, cell_runs in runs.items():
        new = baselines.from_runs(cell, cell_runs)
        lines += baselines.changes(baselines.load(cell), new)
        baselines.write(new, cell)
    old_items = {i["id"]: i for i in graders.load()}
    items = graders.freeze(list(old_items.values()), [r[0] for r in runs.values()])
    lines += [f"graders/{i['id']}: {graders.score_diff(old_items[i['id']]['score'], i['score'])}" for i in items if i["id"] in old_items and old_items[i["id"]]["score"] != i["score"]]
    added, removed = sum(i["id"] not in old_items for i in items), len(old_items.keys() - {i["id"] for i in items})
    lines += [f"graders: {added} items added, {removed} removed"] if added or removed else []
    graders.write(items)
    print("\n".join(lines) if lines else "baselines unchanged")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        cells = suite.select(args.only)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if args.update:
        if resources.BASELINES_PACKAGED:
            print(f"--update rewrites the committed baselines of a source checkout (results/baselines/); {resources.BASELINES_DIR} "
                  "is an installed package's copy: run it from a clone of the repository", file=sys.stderr)
            return 2
        return update(args, cells)
    rows = [] if args.graders_only else check_cells(args, cells)
    rows += check_graders()
    print(table.render(rows))
    print(table.summary(rows))
    return 1 if any(r.failed for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
