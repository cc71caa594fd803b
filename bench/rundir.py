"""What a run directory says about its run: complete, failed or unfinished.

The app writes it and reads it back to resume; the sweep summary only reads it.
eval.json (written last, atomically) is the one mark of a complete run;
status.json adds the wall time over every try (kept up to date after each training step),
the last try's time by phase, and, for a failed run, the error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.distributed import LAUNCH
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

    def stored_base_eval(self, shared: Path | None = None) -> EvalResult | None:
        """The starting policy's evaluation if this run or, at `shared`, another run with the same starting
        policy and evaluation (a sweep's algorithms at one dataset and seed) has stored it; computed once,
        it is reused by every resume of this run."""
        for path in (self.path / BASE_EVAL, shared):
            if path is not None and path.exists():
                log.info("base evaluation read from %s", path)
                return EvalResult(json.loads(path.read_text())["metrics"], [])
        return None

    def store_base_eval(self, result: EvalResult, shared: Path | None = None) -> None:
        """Keep `result` for this run's resumes (and at `shared`, for the other runs that start alike)."""
        if shared is not None and not shared.exists():
            atomic_write_json(shared, {"metrics": result.metrics})
        atomic_write_json(self.path / BASE_EVAL, {"metrics": result.metrics})


@dataclass
class Attempt:
    """One try at a run. Wall time adds up over every try in the dir, and this try's is saved
    after each training step, so a killed try's time (to its last step) still counts on resume."""

    run_dir: RunDir
    previous_s: float  # the earlier tries' wall time
    started: float = field(default_factory=time.perf_counter)
    phases_s: dict[str, float] = field(default_factory=dict)  # this try's wall time by phase (`phase`)

    @property
    def wall_s(self) -> float:
        return self.previous_s + time.perf_counter() - self.started

    def heartbeat(self) -> None:
        self.write("running")

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Count the block's wall time to phase `name` (status.json's `phases_s`; bench.perf's `job` section)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases_s[name] = self.phases_s.get(name, 0.0) + time.perf_counter() - started

    def finish(self, status: str, error: str | None = None) -> None:
        """Record the outcome. A complete run stays complete: a later try on it can only have been refused.
        Under torchrun the first rank to fail names the cause; the errors of peers it took down do not replace it."""
        if status == "failed" and (self.run_dir.complete or self.peer_failed()):
            return
        self.write(status, error)

    def peer_failed(self) -> bool:
        path, launch = self.run_dir.path / STATUS, os.environ.get(LAUNCH)
        if launch is None or not path.exists():
            return False
        recorded = json.loads(path.read_text())
        return recorded.get("status") == "failed" and recorded.get("launch") == launch

    def write(self, status: str, error: str | None = None) -> None:
        record = {"status": status, "wall_s": self.wall_s, "error": error, "phases_s": self.phases_s}
        if LAUNCH in os.environ:  # the launch of several processes this try is
            record["launch"] = os.environ[LAUNCH]
        atomic_write_json(self.run_dir.path / STATUS, record)
