"""The report: one aligned table, then every failure named with its reason."""

from __future__ import annotations

from bench.regress.compare import Row

HEADER = ("metric", "baseline", "new", "delta", "tolerance", "verdict")


def render(rows: list[Row]) -> str:
    cells = [HEADER, *((r.metric, r.baseline, r.new, r.delta, r.tolerance, r.verdict) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    failed = [r for r in rows if r.failed]
    if not failed:
        return f"no regression ({len(rows)} checks)"
    lines = [f"{len(failed)} of {len(rows)} checks failed:"]
    for row in failed:
        lines.append(f"  {row.verdict} {row.metric}" + (f": {row.note}" if row.note else ""))
    return "\n".join(lines)
