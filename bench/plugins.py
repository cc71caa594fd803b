"""User code without a fork: `plugins=[my_pkg.tasks,./my_reward.py]` and `module:function` specs.

A plugin is a module name or a `.py` file; importing it runs its `register_task`,
`register_algorithm` (or config-store) calls. Plugins are imported before Hydra composes
the config (from the command line, so a plugin's config schema is known to the
composition) and again in every job process (a launcher's worker starts afresh); a
module or file is imported once per process.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.preflight import ConfigError


def import_plugins(plugins: Iterable[str]) -> None:
    for plugin in plugins:
        load_module(plugin, key="plugins")


def plugins_from_argv(argv: list[str]) -> list[str]:
    """The `plugins=[...]` value among Hydra overrides (parsed as Hydra parses it)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    wanted = [arg for arg in argv if arg.split("=", 1)[0].lstrip("+~") == "plugins"]
    if not wanted:
        return []
    value = OverridesParser.create().parse_overrides(wanted)[-1].value()
    return [value] if isinstance(value, str) else list(value or [])


def load_module(spec: str, key: str) -> ModuleType:
    """The module `spec` names (dotted name, or a path ending in .py), imported once."""
    try:
        if spec.endswith(".py"):
            path = Path(spec).expanduser().resolve()
            name = "rlvr_bench_plugin_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]  # the same in every process
            if name in sys.modules:
                return sys.modules[name]
            if not path.is_file():
                raise FileNotFoundError(f"no such file {path}")
            module_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            try:
                module_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
            return module
        return importlib.import_module(spec)
    except Exception as error:
        raise ConfigError(f"{key}: cannot import {spec!r}: {type(error).__name__}: {error}") from error


def load_function(spec: str, key: str) -> Callable[..., Any]:
    """`module:function` or `path/to/file.py:function`."""
    module_spec, sep, name = spec.rpartition(":")
    if not sep or not module_spec or not name:
        raise ConfigError(f"{key} must be 'module:function' or 'file.py:function', got {spec!r}")
    function = getattr(load_module(module_spec, key), name, None)
    if not callable(function):
        raise ConfigError(f"{key}: {module_spec!r} has no function {name!r}")
    return function
