"""A static, self-contained HTML page: sortable leaderboard, claims with evidence,
figures inlined as base64 PNG (PDF links beside them); opens offline.
"""

from __future__ import annotations

import base64
import math
from html import escape
from pathlib import Path

from bench.report.claims import Verdict
from bench.report.tables import Board, cell_text, legend

# Click a header to sort by it (again to reverse); cells sort by data-value, empty cells last.
SORT_JS = """
for (const th of document.querySelectorAll("table.sortable th")) th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], i = th.cellIndex, dir = th.dataset.dir = th.dataset.dir === "1" ? "-1" : "1";
  const key = r => { const v = r.cells[i].dataset.value; return v === undefined ? r.cells[i].textContent : v === "" ? null : +v; };
  const rows = [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
    return x === null ? 1 : y === null ? -1 : (x > y ? 1 : x < y ? -1 : 0) * dir; });
  body.append(...rows);
});
"""

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 80em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; vertical-align: top; }
th { cursor: pointer; background: #f4f4f4; } th:first-child, td.text, #claims th { text-align: left; } #claims td { white-space: normal; }
.scroll { overflow-x: auto; }
.holds { color: #1a7f37; } .fails { color: #cf222e; } .missing { color: #6e7781; }
figure { display: inline-block; margin: 0.5em; } img { width: 340px; }
"""

VERDICT_CLASS = {"holds": "holds", "does not hold": "fails", "not enough runs": "missing"}


def leaderboard_html(board: Board) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in ["algorithm", "model", "seeds", *(f"{d} {c}" for d, c in board.columns)])
    rows = []
    for row in board.rows:
        cells = [f'<td class="text">{escape(row[0])}</td><td class="text">{escape(row[1])}</td><td>{board.seeds[row]}</td>']
        for col in board.columns:
            mean = board.mean.at[row, col]
            text = escape(cell_text(mean, board.se.at[row, col], col[1]))
            value = "" if math.isnan(mean) else "Infinity" if math.isinf(mean) else f"{mean:.6g}"
            cells.append(f'<td data-value="{value}">' + (f"<b>{text}</b>" if board.best.at[row, col] else text) + "</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table class="sortable" id="leaderboard"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div><p>{escape(legend(board))}</p>'


def claims_html(verdicts: list[Verdict]) -> str:
    rows = []
    for v in verdicts:
        evidence = "".join(f"<li>{escape(e)}</li>" for e in v.evidence) or "<li>no runs to compare</li>"
        reason = f'<br><small>{escape(v.reason)}</small>' if v.reason else ""
        rows.append(f'<tr><td class="text">{escape(v.claim)}</td><td class="text {VERDICT_CLASS[v.verdict]}"><b>{escape(v.verdict)}</b>{reason}</td>'
                    f'<td class="text">{escape(v.rule)}</td><td class="text"><ul>{evidence}</ul></td></tr>')
    head = "".join(f"<th>{h}</th>" for h in ("claim", "verdict", "rule", "evidence"))
    return f'<table class="sortable" id="claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def figure_html(png: Path, out: Path) -> str:
    data = base64.b64encode(png.read_bytes()).decode()
    pdf = png.with_suffix(".pdf").relative_to(out).as_posix()
    return f'<figure><img src="data:image/png;base64,{data}" alt="{escape(png.stem)}"><figcaption>{escape(png.stem)} (<a href="{escape(pdf)}">PDF</a>)</figcaption></figure>'


def report_html(board: Board, verdicts: list[Verdict], pngs: list[Path], notes: list[str], out: Path) -> str:
    notes_html = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rlvr-bench report</title><style>{CSS}</style></head>
<body>
<h1>rlvr-bench report</h1>
<h2>Leaderboard</h2>
{leaderboard_html(board)}
<h2>Headline claims</h2>
{claims_html(verdicts)}
<h2>Figures</h2>
{"".join(figure_html(p, out) for p in pngs)}
<h2>Notes</h2>
<ul>{notes_html or "<li>none</li>"}</ul>
<script>{SORT_JS}</script>
</body></html>
"""
