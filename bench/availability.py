"""Are the run's model and dataset there? Checked once, before any work and before a run dir exists.

Left to themselves, transformers and datasets find out file by file, each after
the hub client's retries (tens of seconds offline), and a run names the dataset
long before it gets to the model. Here every input is looked at up front: a local
path must exist; a hub id needs the hub or a cached copy. The hub is out when
`HF_HUB_OFFLINE` (`HF_DATASETS_OFFLINE` for datasets) says so, or when a plain TCP
connect to its endpoint fails within seconds. When it is out and everything is
cached, the run is switched to offline mode so the libraries read the caches
without retrying; when something is missing, one error names every missing input
and both ways out: a local copy, or hub access.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from omegaconf import DictConfig

from bench.build import ConfigError, build_task

DEFAULT_ENDPOINT = "https://huggingface.co"
PROBE_TIMEOUT_S = 3.0
TRUE_VALUES = {"1", "ON", "YES", "TRUE"}  # huggingface_hub.constants._is_true, datasets.config.ENV_VARS_TRUE_VALUES
MODEL_COPY = "model.path=<checkpoint dir>"
DATASET_COPY = "dataset.path=<a .jsonl/.parquet file, or a dir of <split>.jsonl/.parquet files>"


class InputsUnavailableError(ConfigError):
    """A model or dataset the run reads is neither on disk nor reachable on the hub nor cached."""


def is_local_path(path: str) -> bool:
    """A hub id is `owner/name`; anything rooted or deeper is a directory."""
    return path.startswith((".", "/", "~")) or path.count("/") > 1


@dataclass(frozen=True)
class Input:
    """One thing a run reads: a local path (`repo` None) or a hub repo (model, or dataset with its config)."""

    kind: str  # model | dataset
    key: str  # the override that names a local copy instead
    path: str | None = None
    repo: str | None = None
    config: str | None = None

    def __str__(self) -> str:
        if self.repo is None:
            return f"{self.kind} {self.key}={self.path}"
        return f"{self.kind} {self.repo}" + (f" {self.config}" if self.config else "")


def run_inputs(cfg: DictConfig) -> list[Input]:
    """The model and dataset inputs of one composed config (the tiny model and synthetic tasks need none)."""
    inputs = []
    if cfg.model.name == "hf" and cfg.model.path is not None:
        path = str(cfg.model.path)
        local = is_local_path(path) or Path(path).expanduser().is_dir()  # from_pretrained prefers an existing dir
        inputs.append(Input("model", "model.path", path=path) if local else Input("model", "model.path", repo=path))
    if cfg.dataset.path is not None:
        inputs.append(Input("dataset", "dataset.path", path=str(cfg.dataset.path)))
    try:
        task = build_task(cfg)
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"dataset {cfg.dataset.name!r}: {error}") from None
    hub_datasets = getattr(task, "hub_datasets", None)  # only the real tasks read the hub
    for repo, config in hub_datasets() if hub_datasets else ():
        inputs.append(Input("dataset", "dataset.path", repo=repo, config=config))
    return inputs


def check_inputs(cfgs: Iterable[DictConfig]) -> None:
    """Every input of every config is available, or one InputsUnavailableError naming each missing one.

    Each distinct input is looked at once (a sweep's jobs share them) and the hub
    probed at most once. When the hub is unreachable but every hub input is
    cached, this process and its children go offline (`go_offline`).
    """
    inputs = list(dict.fromkeys(i for cfg in cfgs for i in run_inputs(cfg)))
    hub = HubAccess()
    missing = [(item, why) for item in inputs if (why := item_missing(item, hub)) is not None]
    if missing:
        raise InputsUnavailableError(unavailable_message(missing, hub))
    if hub.probed_unreachable and any(item.repo for item in inputs):
        go_offline()


def item_missing(item: Input, hub: HubAccess) -> str | None:
    """Why `item` cannot be read (and where a copy would go), or None when it can."""
    if item.repo is None:
        return None if Path(item.path).expanduser().exists() else "does not exist"
    if hub.unreachable(item.kind) is None:
        return None
    if item.kind == "model":
        from huggingface_hub import constants, try_to_load_from_cache  # imported when needed: the tiny model never is

        cached = try_to_load_from_cache(item.repo, "config.json")
        return None if isinstance(cached, str) else f"not in the hub cache {constants.HF_HUB_CACHE}; set {MODEL_COPY}"
    cache = datasets_cache()
    return None if dataset_cached(cache, item.repo, item.config) else f"not in the datasets cache {cache}; set {DATASET_COPY}"


class HubAccess:
    """Whether the hub can be used, for models and for datasets: the offline flags first, then one probe."""

    def unreachable(self, kind: str) -> str | None:
        """Why `kind`'s hub cannot be used, or None."""
        flag = datasets_offline_flag() if kind == "dataset" else hub_offline_flag()
        return f"{flag} is set" if flag is not None else self.probe

    @cached_property
    def probe(self) -> str | None:
        return probe_endpoint(hub_endpoint())

    @property
    def probed_unreachable(self) -> bool:
        """The endpoint was probed (no offline flag covered every input) and did not answer."""
        return "probe" in self.__dict__ and self.probe is not None


def hub_offline_flag() -> str | None:
    """The variable that puts huggingface_hub offline (as its constants.HF_HUB_OFFLINE reads them), or None."""
    return next((f"{name}={os.environ[name]}" for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if is_true(os.environ.get(name))), None)


def datasets_offline_flag() -> str | None:
    """datasets.config: HF_DATASETS_OFFLINE decides when set at all, else it follows the hub's flag."""
    value = os.environ.get("HF_DATASETS_OFFLINE")
    if value is None:
        return hub_offline_flag()
    return f"HF_DATASETS_OFFLINE={value}" if is_true(value) else None


def is_true(value: str | None) -> bool:
    return value is not None and value.upper() in TRUE_VALUES


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def probe_endpoint(endpoint: str, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """Why a TCP connection to the endpoint (or the proxy it would go through) fails, or None when it opens.

    A connect, not a request: it costs one round trip when the hub is there and at
    most `timeout_s` when it is not, where the hub client retries for tens of seconds.
    """
    url = urlsplit(endpoint)
    if url.hostname is None:
        return f"HF_ENDPOINT {endpoint!r} has no host"
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and not urllib.request.proxy_bypass(url.hostname):
        target, via = urlsplit(proxy if "://" in proxy else f"http://{proxy}"), f" through the proxy {proxy}"
    else:
        target, via = url, ""
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        socket.create_connection((target.hostname, port), timeout=timeout_s).close()
    except OSError as error:
        return f"{endpoint} unreachable{via}: {error.__class__.__name__}: {error}"
    return None


def datasets_cache() -> Path:
    """Where `datasets` keeps prepared datasets, by the rule of datasets/config.py (HF_DATASETS_CACHE, else
    HF_HOME/datasets, else ~/.cache/huggingface/datasets), without importing datasets (seconds)."""
    if "HF_DATASETS_CACHE" in os.environ:
        return Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", str(Path("~/.cache").expanduser()))
    return Path(os.environ.get("HF_HOME", os.path.join(xdg, "huggingface"))).expanduser() / "datasets"


def dataset_cached(cache: Path, repo: str, config: str | None) -> bool:
    """A prepared copy of `repo`/`config` in the cache, where datasets' offline fallback looks for one
    (datasets/load.py CachedDatasetModuleFactory): `<owner>___<snake name>/<config>/<version>/<hash>/`."""
    owner, _, name = repo.rpartition("/")
    folder = "___".join(part for part in (owner, camelcase_to_snakecase(name)) if part)
    return any(path.is_dir() for path in (cache / folder / (config or "default")).glob("*/*"))


def camelcase_to_snakecase(name: str) -> str:
    """datasets/naming.py camelcase_to_snakecase: how a dataset's name becomes its cache folder."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def go_offline() -> None:
    """Offline mode for huggingface_hub, transformers and datasets, in this process and the jobs it starts.

    The libraries read the variables once, at import, so the copies already imported are set too.
    """
    os.environ["HF_HUB_OFFLINE"] = os.environ["HF_DATASETS_OFFLINE"] = "1"
    if (hub := sys.modules.get("huggingface_hub.constants")) is not None:
        hub.HF_HUB_OFFLINE = True
    if (datasets_config := sys.modules.get("datasets.config")) is not None:
        datasets_config.HF_HUB_OFFLINE = datasets_config.HF_DATASETS_OFFLINE = True


def unavailable_message(missing: list[tuple[Input, str]], hub: HubAccess) -> str:
    """`N inputs not available (why the hub is out): each one (why; its local way out). The hub way out.`"""
    reasons = list(dict.fromkeys(hub.unreachable(item.kind) for item, _ in missing if item.repo))
    header = f"{len(missing)} input{'s' if len(missing) > 1 else ''} not available"
    if reasons:
        header += f" (the Hugging Face Hub is unreachable: {'; '.join(reasons)})"
    lines = [f"{item} ({why})" for item, why in missing]
    ways_out = ""
    if reasons:
        ways_out = (
            f". Either give each a local copy as shown, or give this machine hub access ({hub_endpoint()} reachable, "
            "HF_HUB_OFFLINE / HF_DATASETS_OFFLINE unset) so they download into the caches, where later offline runs find them"
        )
    return f"{header}: {' ; '.join(lines)}{ways_out}"
