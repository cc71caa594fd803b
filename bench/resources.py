"""Where the package's own data lives: the Hydra configs and the regression baselines.

An installed wheel carries them inside the package (`bench/_conf`, `bench/_baselines`:
pyproject.toml maps the repo's `conf/` and `results/baselines/` there); a source
checkout keeps them at the repo's top level, beside `bench/`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _data_dir(packaged: str, in_checkout: str) -> Path:
    installed = Path(str(files("bench") / packaged))
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / in_checkout


CONF_DIR = _data_dir("_conf", "conf")  # Hydra's primary config dir
BASELINES_DIR = _data_dir("_baselines", "results/baselines")  # regress baselines and frozen grader items
BASELINES_PACKAGED = BASELINES_DIR.name == "_baselines"  # an installed copy: read it, never rewrite it
