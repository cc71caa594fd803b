"""Plain-text tables of metrics with their standard errors."""

from __future__ import annotations


def cell(metrics: dict[str, float], name: str) -> str:
    return f"{metrics[name]:.3f} ± {metrics[name + '_stderr']:.3f}"


def passk_table(columns: dict[str, dict[str, float]], ks: list[int], prefixes: tuple[str, ...] = ("pass", "maj")) -> str:
    """Rows = metric@k, one column per policy (e.g. base, trained)."""
    rows = [[f"{prefix}@{k}"] + [cell(m, f"{prefix}@{k}") for m in columns.values()] for prefix in prefixes for k in ks]
    header = ["metric", *columns]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in lines)
