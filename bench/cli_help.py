"""`python -m bench [overrides] --help`: the groups a user picks and every knob with its description.

Hydra's own `--help` lists its internal `schema/*` groups and none of the knobs'
meanings. The descriptions here are the trailing `# ...` comments of the schema
dataclasses (bench/config.py, algorithms/configs.py), read from their source with
`tokenize` and `ast`, so a knob is described once, where it is declared. The config
is composed with the overrides given, so `algorithm=ppo --help` shows PPO's knobs,
and an undeclared key is refused as a run refuses it (bench/preflight.py).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import sys
import tokenize
from functools import cache
from pathlib import Path
from typing import TextIO

import hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ValueType
from hydra.errors import ConfigCompositionException, HydraException
from omegaconf import DictConfig, ListConfig, OmegaConf

from bench.app import CONF_DIR
from bench.preflight import unknown_keys, user_groups

USAGE = """\
usage: python -m bench [group=option ...] [key=value ...]      (the same: rlvr-bench ...)
       python -m bench -m key=a,b [key=c,d ...]                 a sweep: one job per combination
       python -m bench [group=option ...] --help                this help, for the config those overrides compose
       python -m bench [overrides] --cfg job                    the composed config, as YAML
       python -m bench --hydra-help                             Hydra's own flags (-m, --cfg, -sc, ...)
other entry points: python -m bench.eval (evaluate a checkpoint), python -m bench.report,
       python -m bench.regress, python -m bench.perf (each takes --help)
"""
# Hydra flags that take no part in composing the config the help describes.
IGNORED_FLAGS = {"-m", "--multirun"}
FIRST_VALUE_SWEEPS = (ValueType.CHOICE_SWEEP, ValueType.SIMPLE_CHOICE_SWEEP, ValueType.RANGE_SWEEP)
KNOB_WIDTH = 44  # descriptions start in one column after most `key = value`s


def print_help(args: list[str], out: TextIO = sys.stdout) -> int:
    """Print the help for the config `args` compose; 0, or 1 with the reason on stderr when they do not."""
    try:
        overrides, sweeps = first_job([a for a in args if a not in IGNORED_FLAGS])
        text = help_text(overrides) + "".join(f"sweep: {sweep} (shown: the first job's value)\n" for sweep in sweeps)
    except (HydraException, ValueError) as error:
        print(f"help not shown: {error}", file=sys.stderr)
        return 1
    out.write(text)
    return 0


def first_job(overrides: list[str]) -> tuple[list[str], list[str]]:
    """The overrides of a sweep's first job (`seed=0,1` -> `seed=0`), and the sweeps they stand for.
    A glob or interval sweep is left as given: composing it then says why it is not one config."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    job, sweeps = [], []
    for override in parsed:
        if override.value_type in FIRST_VALUE_SWEEPS:
            job.append(f"{override.get_key_element()}={next(override.sweep_string_iterator())}")
            sweeps.append(override.input_line)
        else:
            job.append(override.input_line)
    return job, sweeps


def help_text(overrides: list[str]) -> str:
    """Usage, the config groups (with `*` on each selected option) and the knobs of the composed config."""
    with hydra.initialize_config_dir(config_dir=CONF_DIR, version_base=None):
        cfg = compose_naming_unknown_keys(overrides)
        choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
        groups = {group: options(group) for group in [*user_groups(), *hydra_groups()]}
    unknown = unknown_keys(cfg)
    if unknown:
        raise ValueError(unknown)
    lines = [USAGE, "config groups (group=option, * = selected):"]
    for group, names in groups.items():
        chosen = choices.get(group)
        shown = [f"*{name}" if name == chosen else name for name in names]
        if chosen is None:
            shown.insert(0, "*null")
        lines.append(f"  {group}: {', '.join(shown)}")
    lines += ["", "knobs (key=value on the command line; the values this config holds):"]
    lines += [f"  {key_value:<{KNOB_WIDTH}}  # {comment}" if comment else f"  {key_value}" for key_value, comment in knobs(cfg, "")]
    return "\n".join(lines) + "\n"


def compose_naming_unknown_keys(overrides: list[str]) -> DictConfig:
    """The config `overrides` compose. Hydra refuses `train.stepz=3` without naming the knob meant, so such
    an override is retried as `+train.stepz=3`, which the undeclared-key check then names with its closest knobs."""
    while True:
        try:
            return hydra.compose(config_name="config", overrides=overrides, return_hydra_config=True)
        except ConfigCompositionException as error:
            missing = [o for o in overrides if str(error).startswith(f"Could not override '{override_key(o)}'.")]
            if not missing:
                raise
            overrides = [f"+{o}" if o == missing[0] else o for o in overrides]


def override_key(override: str) -> str:
    return override.split("=", 1)[0]


def options(group: str) -> list[str]:
    return sorted(GlobalHydra.instance().config_loader().get_group_options(group))


def hydra_groups() -> list[str]:
    """The `hydra/*` groups this project configures (conf/hydra/<group>/): the launchers."""
    return sorted(f"hydra/{d.name}" for d in (Path(CONF_DIR) / "hydra").iterdir() if d.is_dir())


def knobs(node: DictConfig, prefix: str) -> list[tuple[str, str | None]]:
    """(`key = value`, description) for every leaf under `node`, descending into schema dataclasses only
    (a dict-typed field such as dataset.options is one knob)."""
    schema = OmegaConf.get_type(node)
    comments = field_comments(schema) if dataclasses.is_dataclass(schema) else {}
    lines = []
    for key in node.keys():
        if prefix == "" and key == "hydra":
            continue
        child = node._get_node(key)
        if isinstance(child, DictConfig) and dataclasses.is_dataclass(OmegaConf.get_type(child)) and not child._is_missing():
            lines += knobs(child, f"{prefix}{key}.")
            continue
        lines.append((f"{prefix}{key} = {format_value(child)}", comments.get(key)))
    return lines


def format_value(node) -> str:
    """A knob's value as it would be written on the command line (interpolations unresolved)."""
    if node._is_missing():
        return "???"
    if isinstance(node, (DictConfig, ListConfig)):
        return str(OmegaConf.to_container(node, resolve=False, enum_to_str=True)).replace("'", "").replace("None", "null")
    value = node._value()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(getattr(value, "value", value))


def field_comments(schema: type) -> dict[str, str]:
    """Field name -> its trailing comment, for `schema` and the dataclasses it inherits fields from."""
    comments: dict[str, str] = {}
    for cls in reversed(schema.__mro__):
        if dataclasses.is_dataclass(cls):
            comments.update(class_comments(inspect.getsourcefile(cls)).get(cls.__name__, {}))
    return comments


@cache
def class_comments(source_file: str) -> dict[str, dict[str, str]]:
    """Class name -> {field: comment} for every class of one module: the `# ...` on a field's last line."""
    source = Path(source_file).read_text()
    line_comments = {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    return {
        node.name: {
            stmt.target.id: line_comments[stmt.end_lineno]
            for stmt in node.body
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.end_lineno in line_comments
        }
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef)
    }
