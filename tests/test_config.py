"""Every config composes; typos and wrong types fail at compose time naming the key."""

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from bench.app import CONF_DIR
from bench.build import ConfigError, check_config
from tests.conftest import compose_config

# experiment/ and debug/ are `_global_` packages and hydra/ holds launchers: tests/test_experiments.py composes them.
GROUPS = sorted(p.name for p in Path(CONF_DIR).iterdir() if p.is_dir() and p.name not in ("experiment", "debug", "hydra"))


@pytest.mark.parametrize(
    "group, option",
    [(g, p.stem) for g in GROUPS for p in sorted((Path(CONF_DIR) / g).glob("*.yaml"))],
)
def test_every_group_option_composes(group, option):
    cfg = compose_config([f"{group}={option}"])
    if not (Path(CONF_DIR) / group / f"{option}.yaml").read_text().startswith("# @package _global_"):
        assert cfg[group] is not None
    if (group, option) == ("dataset", "jsonl"):  # your rows and reward: nothing to run without them
        with pytest.raises(ConfigError, match="dataset=jsonl needs dataset.path and dataset.reward"):
            check_config(cfg)
    else:
        check_config(cfg)


def test_default_config_matches_the_documented_defaults():
    cfg = compose_config()
    assert (cfg.algorithm.name, cfg.model.name, cfg.dataset.name, cfg.rollout.engine, cfg.logger.name) == (
        "grpo", "tiny", "gsm8k_synth", "hf", "none",
    )
    for key in ("seed", "train.steps", "train.lr", "rollout.prompts_per_step", "rollout.n", "rollout.max_new_tokens",
                "rollout.temperature", "eval.n", "eval.problems", "eval.k", "device"):
        node = cfg
        for part in key.split("."):
            assert part in node, key
            node = node[part]


def test_typo_in_a_key_fails_naming_it():
    with pytest.raises(ConfigCompositionException) as info:
        compose_config(["train.stepz=3"])
    assert "stepz" in str(info.value.__cause__ or info.value)


def test_typo_in_an_algorithm_knob_fails_naming_it():
    with pytest.raises(ConfigCompositionException) as info:
        compose_config(["algorithm.eps_hihg=0.3"])
    assert "eps_hihg" in str(info.value.__cause__ or info.value)


def test_wrong_type_fails_naming_the_key():
    with pytest.raises(ConfigCompositionException) as info:
        compose_config(["train.steps=ten"])
    cause = info.value.__cause__
    assert isinstance(cause, (ValidationError, ConfigKeyError))
    assert "train.steps" in str(cause)


def test_device_lists_the_allowed_values():
    with pytest.raises(ConfigCompositionException) as info:
        compose_config(["device=gpu"])
    message = str(info.value.__cause__)
    assert "device" in message and all(v in message for v in ("auto", "cpu", "cuda"))


def test_unknown_algorithm_lists_the_known_ones():
    with pytest.raises(ConfigCompositionException) as info:
        compose_config(["algorithm=grpoo"])
    assert "grpo" in str(info.value) and "sft" in str(info.value)


def test_cross_field_rules_are_checked_before_work():
    with pytest.raises(ConfigError, match="train.mini_batch_prompts"):
        check_config(compose_config(["rollout.prompts_per_step=6", "train.mini_batch_prompts=4"]))
    with pytest.raises(ConfigError, match="eval.k"):
        check_config(compose_config(["eval.n=4", "eval.k=[1,8]"]))


@pytest.mark.parametrize("problems", ["0", "most", "-3"])
def test_eval_problems_is_a_count_or_all(problems):
    check_config(compose_config(["eval.problems=all"]))
    with pytest.raises(ConfigError, match="eval.problems must be an integer >= 1 or 'all'"):
        check_config(compose_config([f"eval.problems={problems}"]))


def test_the_micro_batch_defaults_to_the_models_and_an_override_wins():
    assert compose_config().train.micro_batch_size == 64  # the tiny model: a step of 32 x 8 in four passes
    assert compose_config(["model=hf", "model.path=x"]).train.micro_batch_size == 8
    assert compose_config(["model=hf", "model.path=x", "train.micro_batch_size=2"]).train.micro_batch_size == 2
