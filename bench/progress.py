"""Progress bars for the long loops (training steps, evaluation problems).

Quiet under `CI=true` and when stderr is not a terminal (tqdm's `disable=None`), so
logs of batch jobs and CI hold no carriage-return noise; under torchrun, rank 0 alone shows one.
"""

from __future__ import annotations

import os
from typing import Any

from tqdm import tqdm


def progress_bar(*args: Any, **kwargs: Any) -> tqdm:
    quiet = os.environ.get("CI", "").lower() == "true" or os.environ.get("RANK", "0") != "0"
    return tqdm(*args, disable=True if quiet else None, dynamic_ncols=True, **kwargs)
