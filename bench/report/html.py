"""A static, self-contained HTML page: sortable leaderboard (arrows show the sorted
column and its direction), claims with evidence, figures inlined as base64 PNG with
the captions the figures carry (PDF links beside them); opens offline.
"""

from __future__ import annotations

import base64
import math
from html import escape
from pathlib import Path

from bench.report.claims import Verdict
from bench.report.tables import Board, cell_text, legend

# Click a header (or focus it and press Enter) to sort by it, again to reverse; cells sort by
# data-value, empty cells last. aria-sort marks the sorted column; the CSS draws its arrow.
SORT_JS = """
for (const th of document.querySelectorAll("table.sortable th")) {
  th.tabIndex = 0;
  th.addEventListener("keydown", e => { if (e.key === "Enter") th.click(); });
  th.addEventListener("click", () => {
    const dir = th.dataset.dir = th.dataset.dir === "1" ? "-1" : "1";
    for (const other of th.parentElement.cells) if (other !== th) { delete other.dataset.dir; other.removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", dir === "1" ? "ascending" : "descending");
    const body = th.closest("table").tBodies[0], i = th.cellIndex;
    const key = r => { const v = r.cells[i].dataset.value; return v === undefined ? r.cells[i].textContent : v === "" ? null : +v; };
    const rows = [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
      return x === null ? 1 : y === null ? -1 : (x > y ? 1 : x < y ? -1 : 0) * dir; });
    body.append(...rows);
  });
}
"""

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 80em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; vertical-align: top; }
th { cursor: pointer; background: #f4f4f4; } th:first-child, td.text, #claims th { text-align: left; } #claims td { white-space: normal; }
.scroll { overflow-x: auto; }
th::after { content: " \\2195"; color: #999; }  /* sortable, not sorted: an up-down arrow */
th[aria-sort=ascending]::after { content: " \\25B2"; color: inherit; } th[aria-sort=descending]::after { content: " \\25BC"; color: inherit; }
.holds { color: #1a7f37; } .fails { color: #cf222e; } .missing { color: #6e7781; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; width: 340px; } img { width: 340px; } figcaption { font-size: 0.85em; }
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


def figure_html(png: Path, caption: str, out: Path) -> str:
    data = base64.b64encode(png.read_bytes()).decode()
    pdf = png.with_suffix(".pdf").relative_to(out).as_posix()
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(png.stem)}">'
            f'<figcaption>{escape(png.stem)}: {escape(caption)} (<a href="{escape(pdf)}">PDF</a>)</figcaption></figure>')


def report_html(board: Board, verdicts: list[Verdict], pngs: list[Path], captions: dict[str, str], notes: list[str], out: Path) -> str:
    """`captions`: each figure's caption by file stem, as make_plots returns them."""
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
{"".join(figure_html(p, captions[p.stem], out) for p in pngs)}
<h2>Notes</h2>
<ul>{notes_html or "<li>none</li>"}</ul>
<script>{SORT_JS}</script>
</body></html>
"""
