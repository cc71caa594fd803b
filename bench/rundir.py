"""What a run directory says about its run: complete, failed or unfinished.

The app writes it and reads it back to resume; the sweep summary only reads it.
eval.json (written last, atomically) is the one mark of a complete run;
status.json adds the wall time and, for a failed run, the error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.evaluate import EvalResult
from bench.io import atomic_write_json

log = logging.getLogger(__name__)
EVAL = "eval.json"
STATUS = "status.json"
BASE_EVAL = "base_eval.json"
RUN_OUTPUTS = ("metrics.jsonl", "checkpoints", EVAL)  # a dir holding any of these already holds a run


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def complete(self) -> bool:
        return (self.path / EVAL).exists()

    def holds_run(self) -> bool:
        return any((self.path / name).exists() for name in RUN_OUTPUTS)

    def status(self) -> dict:
        """{"status": complete|failed|missing, "wall_s": float|None, "error": str|None}."""
        path = self.path / STATUS
        recorded = json.loads(path.read_text()) if path.exists() else {}
        state = "complete" if self.complete else "failed" if recorded.get("status") == "failed" else "missing"
        return {"status": state, "wall_s": recorded.get("wall_s"), "error": recorded.get("error") if state == "failed" else None}

    def record(self, status: str, attempt_s: float, error: str | None = None) -> None:
        """Write the outcome of this attempt; wall time adds up over every attempt (resumes) in this dir.

        A complete run stays complete: a later attempt on it can only have been refused.
        """
        if status == "failed" and self.complete:
            return
        previous = self.status()["wall_s"] or 0.0
        atomic_write_json(self.path / STATUS, {"status": status, "wall_s": previous + attempt_s, "error": error})

    def base_eval(self, evaluate: Callable[[], EvalResult], shared: Path | None = None) -> EvalResult:
        """The starting policy's evaluation, computed once and reused by every resume of this run.

        `shared` is where other runs with the same starting policy and evaluation
        (a sweep's algorithms at one dataset and seed) keep the same result: it is
        read from there when one of them has already computed it.
        """
        for path in (self.path / BASE_EVAL, shared):
            if path is not None and path.exists():
                metrics = json.loads(path.read_text())["metrics"]
                log.info("base evaluation read from %s", path)
                break
        else:
            metrics = evaluate().metrics
            if shared is not None:
                atomic_write_json(shared, {"metrics": metrics})
        atomic_write_json(self.path / BASE_EVAL, {"metrics": metrics})
        return EvalResult(metrics, [])
