"""Prompt presets: `dataset.prompt=<name>` picks how a real task is put to the model.

Each preset other than `default` and `chat` renders, token for token, the prompt
of its published counterpart in lm-evaluation-harness 0.4.13 (plain text, as
lm-eval runs without `--apply_chat_template`), and brings that harness task's
stop sequences, which the run adds to `rollout.stop`.
"""

from __future__ import annotations

from dataclasses import dataclass

SYNTHETIC_TASKS = ("gsm8k_synth", "math_synth", "hotpotqa_synth")
REAL_TASKS = ("gsm8k", "math", "hotpotqa")


@dataclass(frozen=True)
class Preset:
    name: str
    tasks: tuple[str, ...]  # the tasks it fits
    shots: str  # what precedes the question
    stops: tuple[str, ...]  # stop strings the preset adds to rollout.stop
    counterpart: str  # the published setup it reproduces


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "default", REAL_TASKS + SYNTHETIC_TASKS, "dataset.options.few_shot (0)", (),
            "none: the embedded default (chat template if the tokenizer has one, else `Q:`/`A:` with the instruction)",
        ),
        Preset(
            "chat", REAL_TASKS, "0", (),
            "zero-shot instruct evaluation: question then the task's instruction in the user turn of the model's chat template",
        ),
        Preset(
            "gsm8k", ("gsm8k",), "5, drawn from train as lm-eval does (seed 1234)", ("Question:", "</s>", "<|im_end|>"),
            "lm-eval `gsm8k` (5-shot `Question:`/`Answer:`, strict-match `#### N`)",
        ),
        Preset(
            "gsm8k_cot", ("gsm8k",), "8 fixed chain-of-thought exemplars", ("Q:", "</s>", "<|im_end|>"),
            "lm-eval `gsm8k_cot` (8-shot `Q:`/`A:`, strict-match `The answer is N.`)",
        ),
        Preset(
            "minerva_math", ("math",), "4 fixed Minerva exemplars", ("Problem:",),
            "lm-eval `minerva_math500` (MATH-500) and `minerva_math` (subsets), `Final Answer: The final answer is X.`",
        ),
    )
}


def preset_for(task: str, name: str) -> Preset:
    """The preset `name` for `task`; an error naming `dataset.prompt` and the presets that fit otherwise."""
    allowed = [preset.name for preset in PRESETS.values() if task in preset.tasks]
    if name not in allowed:
        raise ValueError(f"dataset.prompt={name!r} does not fit dataset {task!r}; allowed presets: {', '.join(allowed)}")
    return PRESETS[name]


def fixed_shots_refuse_few_shot(task: str, name: str, few_shot: int) -> None:
    """A preset other than `default` fixes its own shots; `few_shot` on top would change them silently."""
    if name != "default" and few_shot:
        raise ValueError(f"{task}: dataset.options.few_shot={few_shot} only applies to dataset.prompt=default; preset {name!r} fixes its own shots")
