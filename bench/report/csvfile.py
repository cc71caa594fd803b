"""The leaderboard as CSV: plain numbers, a mean and an SE column per cell, for spreadsheets and scripts."""

from __future__ import annotations

import pandas as pd

from bench.report.tables import Board


def leaderboard_frame(board: Board) -> pd.DataFrame:
    frame = pd.DataFrame({"seeds": board.seeds}, index=board.mean.index)
    for col in board.columns:
        name = f"{col[0]} {col[1]}"
        frame[name] = board.mean[col]
        frame[f"{name} se"] = board.se[col]
        frame[f"{name} best"] = board.best[col]
    return frame.reset_index()
