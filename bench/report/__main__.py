"""`python -m bench.report [RESULTS_DIR ...] [--out DIR | --curated] [--ks 1,8,64] [--target +0.05] [--min-seeds 3]`.

Writes into ./report/ unless told otherwise: the committed results/ (curated
leaderboard, claims, figures) changes only with `--out results` or `--curated`.

Recipe: load every run dir -> tidy table (+ time to target) -> leaderboard in four
formats -> claims check -> figures -> one HTML page. Runs that cannot be read are
logged by path and skipped.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd

from bench.io import atomic_write_text
from bench.report.claims import MIN_SEEDS, check_claims, claims_markdown
from bench.report.csvfile import leaderboard_frame
from bench.report.html import report_html
from bench.report.latex import leaderboard_latex
from bench.report.load import load_runs
from bench.report.markdown import leaderboard_markdown
from bench.report.plots import make_plots
from bench.report.summary import time_to_target
from bench.report.tables import leaderboard
from bench.report.target import DEFAULT_SPEC, parse_target, resolve_thresholds

log = logging.getLogger("bench.report")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description="Turn every run dir into leaderboards (Markdown, LaTeX, CSV, HTML), paper-style figures and a check of the headline claims.")
    parser.add_argument("results_dirs", nargs="*", type=Path, default=[Path("results/runs")], help="folders searched recursively for run dirs (default: results/runs)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, default=Path("report"), help="where the tables, claims, page and plots/ go (default: ./report)")
    where.add_argument("--curated", action="store_const", const=Path("results"), dest="out", help="write the committed results/ (same as --out results)")
    parser.add_argument("--ks", type=lambda s: [int(k) for k in s.split(",")], default=[1, 8, 64], help="pass@k columns of the leaderboard, those evaluated (default: 1,8,64)")
    parser.add_argument("--target", type=parse_target, default=DEFAULT_SPEC, help=(
        "pass@1 of the time-to-target columns and figure: absolute (0.38), or relative to the base (+0.05), "
        f"with per-dataset overrides (+0.05,math_synth=+0.01,gsm8k_synth-hard=0.01); default {DEFAULT_SPEC}"))
    parser.add_argument("--min-seeds", type=min_seeds, default=MIN_SEEDS, help=(
        f"seeds each side of a claim's comparison needs before it decides anything (default: {MIN_SEEDS}); "
        "below it the claim reads 'not enough runs' and names the cells short of seeds"))
    return parser.parse_args(argv)


def min_seeds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs at least 1 seed, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    absent = [str(d) for d in args.results_dirs if not d.is_dir()]
    if absent:
        log.error("no such results dir: %s", ", ".join(absent))
        return 2
    runs = load_runs(args.results_dirs)
    if runs.results.empty:
        log.error("no complete run dirs under %s", ", ".join(map(str, args.results_dirs)))
        return 1
    thresholds, target_notes = resolve_thresholds(args.target, runs.results)
    tidy = pd.concat([runs.results, time_to_target(runs.curves, runs.results, thresholds)], ignore_index=True)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    tidy.to_parquet(out / "results.parquet", index=False)
    tidy.to_csv(out / "results.csv", index=False)

    evaluated = set(tidy[tidy.metric == "pass"].k.dropna().astype(int))
    unavailable = [k for k in args.ks if k not in evaluated]
    if unavailable:
        print(f"warning: --ks {','.join(map(str, unavailable))} not evaluated in any run (evaluated: {','.join(map(str, sorted(evaluated)))}); those columns are left out", file=sys.stderr)
    board = leaderboard(tidy, args.ks, thresholds)
    atomic_write_text(out / "leaderboard.md", leaderboard_markdown(board))
    atomic_write_text(out / "leaderboard.tex", leaderboard_latex(board))
    leaderboard_frame(board).to_csv(out / "leaderboard.csv", index=False)

    verdicts = check_claims(tidy, args.min_seeds)
    atomic_write_text(out / "claims.md", claims_markdown(verdicts))
    figures, captions, notes = make_plots(tidy, runs.curves, thresholds, out / "plots")
    notes = [f"skipped run dir {s}" for s in runs.skipped] + target_notes + notes
    atomic_write_text(out / "index.html", report_html(board, verdicts, [p for p in figures if p.suffix == ".png"], captions, notes, out))

    n_runs = tidy[tidy.algorithm != "base"].run.nunique()
    print(f"{n_runs} runs ({len(runs.skipped)} skipped) -> {out}/: leaderboard.md/.tex/.csv, results.parquet/.csv, claims.md, index.html, {len(figures)} figure files")
    for v in verdicts:
        print(f"  {v.verdict:15s} {v.claim}" + (f" ({v.reason})" if v.reason else ""))
    for note in notes:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
