"""Process-wide torch settings a run needs before any work: thread count and determinism.

Same seed, same device and same thread count give the same metrics.jsonl (time/*
and */tokens_per_s aside): seeds cover init, data order and sampling, and
`torch.use_deterministic_algorithms` (warn-only, so an op without a deterministic
kernel warns instead of failing) covers the kernels. On CPU this costs nothing;
on CUDA it also needs a fixed cuBLAS workspace, set here if the user has not.
"""

from __future__ import annotations

import logging
import os

import torch

log = logging.getLogger(__name__)


def configure_torch(threads: int | None, deterministic: bool) -> None:
    if threads:
        torch.set_num_threads(threads)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    log.info("torch: %d threads, deterministic=%s", torch.get_num_threads(), deterministic)
