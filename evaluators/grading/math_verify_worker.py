"""math-verify in reusable child processes, so a slow or hostile answer can be cut off.

math-verify bounds its own time with `signal.alarm`, which raises outside the main
thread, so its timeouts are off here (`parsing_timeout=None`, `timeout_seconds=None`)
and time is bounded from outside: the parent waits at most `timeout_s` for a reply,
then kills that child; the next item starts a fresh one. Children are plain
subprocesses (not `multiprocessing`), so they also start inside daemonic pool
workers; a pool of them serves concurrent threads, one item per child at a time, and
a forked process drops the pool it inherited and starts its own. The child imports this
module and calls `serve` (not `python -m`, which would run a second copy of it next to
the one the package already imported; nor a script path, where this folder, holding
`math.py`, would shadow the stdlib `math`).
Only LaTeX extraction is used: math-verify's plain-expression path calls sympy's
`parse_expr`, which `eval`s its input.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import selectors
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

MODULE = "evaluators.grading.math_verify_worker"
REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 120.0  # importing sympy on a cold, busy machine; not charged to items
CHILD_MEMORY_BYTES = 4 << 30  # a runaway answer cannot eat the host before its timeout


@dataclass(frozen=True)
class Verdict:
    correct: bool
    timeout: bool
    answer: str | None = None  # the answer math-verify extracted from `pred` (its string form)


class _Child:
    """One math-verify process speaking JSON lines on stdin/stdout."""

    def __init__(self) -> None:
        env = dict(os.environ)
        paths = (str(REPO_ROOT), env.get("PYTHONPATH"))
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-c", f"import {MODULE}; {MODULE}.serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            bufsize=0,
        )
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._proc.stdout, selectors.EVENT_READ)
        self._buffer = b""
        try:
            ready = self._read_line(STARTUP_TIMEOUT_S)
        except EOFError:
            ready = None
        if ready != b'{"ready": true}':
            exit_code = self._proc.poll()
            self.kill()
            raise RuntimeError(f"math-verify worker failed to start (exit code {exit_code})")

    @property
    def alive(self) -> bool:
        return self._proc.returncode is None

    def check(self, gold: str, pred: str, timeout_s: float) -> Verdict:
        """Timed out or died: the child is killed and the item is wrong."""
        try:
            self._proc.stdin.write(json.dumps({"gold": gold, "pred": pred}).encode() + b"\n")
            line = self._read_line(timeout_s)
        except (BrokenPipeError, EOFError):
            self.kill()
            return Verdict(correct=False, timeout=False)
        if line is None:
            self.kill()
            return Verdict(correct=False, timeout=True)
        reply = json.loads(line)
        return Verdict(correct=bool(reply["correct"]), timeout=False, answer=reply["answer"])

    def _read_line(self, timeout_s: float) -> bytes | None:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                return None
            chunk = os.read(self._proc.stdout.fileno(), 1 << 16)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def kill(self) -> None:
        if self.alive:
            self._proc.kill()
            self._proc.wait()
        self.abandon()

    def abandon(self) -> None:
        """Close our pipe ends without touching the process (it may be our parent's)."""
        self._selector.close()
        self._proc.stdin.close()
        self._proc.stdout.close()


class VerifierPool:
    """Up to `size` children, started on demand; a thread borrows one per item."""

    def __init__(self, size: int) -> None:
        self._slots: queue.LifoQueue[_Child | None] = queue.LifoQueue()  # warm children first
        for _ in range(size):
            self._slots.put(None)
        self._children: set[_Child] = set()

    def check(self, gold: str, pred: str, timeout_s: float) -> Verdict:
        child = self._slots.get()
        try:
            if child is None:
                child = _Child()
                self._children.add(child)
            return child.check(gold, pred, timeout_s)
        except BaseException:
            if child is not None:
                child.kill()  # interrupted mid-item, it may still owe a reply
            raise
        finally:
            if child is not None and not child.alive:
                self._children.discard(child)
                child = None
            self._slots.put(child)

    def close(self) -> None:
        for child in list(self._children):
            child.kill()
        self._children.clear()

    def abandon(self) -> None:
        for child in self._children:
            child.abandon()
        self._children.clear()


_pool: VerifierPool | None = None
_pool_lock = threading.Lock()
# Verdicts already given: a sampled policy repeats its answers (64 samples of one problem
# often hold a handful of distinct ones), and sympy is the slow part of grading.
# A timeout is remembered too: a policy that keeps repeating a hostile answer would
# otherwise pay the full timeout (and a child restart) for every sample of it.
_verdicts: OrderedDict[tuple[str, str], Verdict] = OrderedDict()
VERDICTS_KEPT = 1 << 16


def check(gold: str, pred: str, timeout_s: float) -> Verdict:
    """math-verify `verify(parse(gold), parse(pred))`, gold first, within `timeout_s`.

    `pred` may be a whole completion: math-verify then finds its answer, `\\boxed{}`
    first (the rightmost match of the highest-priority pattern), as lighteval grades MATH.
    """
    global _pool
    key = (gold, pred)
    with _pool_lock:
        if key in _verdicts:
            _verdicts.move_to_end(key)
            return _verdicts[key]
        if _pool is None:
            _pool = VerifierPool(size=os.cpu_count() or 1)
            atexit.register(_pool.close)
        pool = _pool
    verdict = pool.check(gold, pred, timeout_s)
    with _pool_lock:
        _verdicts[key] = verdict
        if len(_verdicts) > VERDICTS_KEPT:
            _verdicts.popitem(last=False)
    return verdict


def _forget_inherited_pool() -> None:
    global _pool, _pool_lock
    if _pool is not None:
        _pool.abandon()
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_inherited_pool)


def serve() -> None:
    """Child loop: one JSON request per line in, one `{"correct": bool, "answer": str | None}` line out."""
    import logging
    import resource
    from functools import lru_cache

    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints from sympy must not corrupt the protocol
    sys.stdout = sys.stderr
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > CHILD_MEMORY_BYTES:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, hard))
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    from math_verify import LatexExtractionConfig, parse, verify

    config = [LatexExtractionConfig(boxed_match_priority=0)]

    def parsed(text: str) -> list:
        return parse(text, extraction_config=config, parsing_timeout=None)

    parsed_gold = lru_cache(maxsize=4096)(parsed)
    parsed("$1$")  # compile math-verify's regexes before announcing readiness
    replies.write('{"ready": true}\n')
    for line in sys.stdin:
        request = json.loads(line)
        answer = None
        try:
            gold, pred = parsed_gold(request["gold"]), parsed(request["pred"])
            answer = next((p for p in reversed(pred) if isinstance(p, str)), None)  # parse ends with the matched text
            correct = verify(gold, pred, timeout_seconds=None)  # gold first: it is asymmetric
        except Exception:  # any failure to parse or compare is a wrong answer
            correct = False
        replies.write(json.dumps({"correct": bool(correct), "answer": answer}) + "\n")
