"""What a run directory says about its run: complete, failed or unfinished.

The app writes it and reads it back to resume; the sweep summary only reads it.
eval.json (written last, atomically) is the one mark of a complete run;
status.json adds the wall time over every try (kept up to date after each training step)
and, for a failed run, the error.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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

    def begin_attempt(self) -> Attempt:
        """A new try at this run, its clock starting from the earlier tries' wall time."""
        return Attempt(self, self.status()["wall_s"] or 0.0)

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


@dataclass
class Attempt:
    """One try at a run. Wall time adds up over every try in the dir, and this try's is saved
    after each training step, so a killed try's time (to its last step) still counts on resume."""

    run_dir: RunDir
    previous_s: float  # the earlier tries' wall time
    started: float = field(default_factory=time.perf_counter)

    @property
    def wall_s(self) -> float:
        return self.previous_s + time.perf_counter() - self.started

    def heartbeat(self) -> None:
        self.write("running")

    def finish(self, status: str, error: str | None = None) -> None:
        """Record the outcome. A complete run stays complete: a later try on it can only have been refused."""
        if status == "failed" and self.run_dir.complete:
            return
        self.write(status, error)

    def write(self, status: str, error: str | None = None) -> None:
        atomic_write_json(self.run_dir.path / STATUS, {"status": status, "wall_s": self.wall_s, "error": error})
