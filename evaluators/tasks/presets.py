"""Prompt presets: `dataset.prompt=<name>` picks how a real task is put to the model.

Each preset other than `default` and `chat` renders, token for token, the prompt
of its published counterpart in lm-evaluation-harness 0.4.13 (plain text, as
lm-eval runs without `--apply_chat_template`), and brings that harness task's
stop sequences, which the run adds to `rollout.stop`.
"""

from __future__ import annotations

from dataclasses import dataclass

# lm-eval's ConfigurableTask defaults, which its gsm8k, gsm8k_cot and minerva_math tasks keep:
TARGET_DELIMITER = " "  # between a shot's question and its answer
FEWSHOT_DELIMITER = "\n\n"  # after each shot

SYNTHETIC_TASKS = ("gsm8k_synth", "math_synth", "hotpotqa_synth")
REAL_TASKS = ("gsm8k", "math", "hotpotqa")


@dataclass(frozen=True)
class Preset:
    name: str
    tasks: tuple[str, ...] | None  # the tasks it fits (None: every task, a plugin's too)
    stops: tuple[str, ...]  # stop strings the preset adds to rollout.stop (never on a synthetic twin)

    def stops_for(self, task: str) -> tuple[str, ...]:
        """The synthetic twins stop as the tiny base always has (the committed regression baselines depend on it)."""
        return () if task in SYNTHETIC_TASKS else self.stops


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        # The embedded default: chat turns with a template, else `Q:`/`A:` with the instruction;
        # `\nQ:` because a base model answering it goes on to invent the next question.
        Preset("default", None, ("\nQ:",)),
        # Zero-shot instruct evaluation: question, then the task's instruction, in the user turn.
        Preset("chat", REAL_TASKS, ()),
        # lm-eval `gsm8k`: 5 seeded train shots, `Question:`/`Answer:` (gsm8k.yaml `until`).
        Preset("gsm8k", ("gsm8k",), ("Question:", "</s>", "<|im_end|>")),
        # lm-eval `gsm8k_cot`: 8 fixed chain-of-thought exemplars, `Q:`/`A:` (gsm8k-cot.yaml `until`).
        Preset("gsm8k_cot", ("gsm8k",), ("Q:", "</s>", "<|im_end|>")),
        # lm-eval `minerva_math` / `minerva_math500`: 4 fixed exemplars (minerva_math_algebra.yaml `until`).
        Preset("minerva_math", ("math",), ("Problem:",)),
    )
}


def preset_for(task: str, name: str) -> Preset:
    """The preset `name` for `task`; an error naming `dataset.prompt` and the presets that fit otherwise."""
    allowed = [preset.name for preset in PRESETS.values() if preset.tasks is None or task in preset.tasks]
    if name not in allowed:
        raise ValueError(f"dataset.prompt={name!r} does not fit dataset {task!r}; allowed presets: {', '.join(allowed)}")
    return PRESETS[name]


def fixed_shots_refuse_few_shot(task: str, name: str, few_shot: int) -> None:
    """A preset other than `default` fixes its own shots; `few_shot` on top would change them silently."""
    if name != "default" and few_shot:
        raise ValueError(f"{task}: dataset.options.few_shot={few_shot} only applies to dataset.prompt=default; preset {name!r} fixes its own shots")
