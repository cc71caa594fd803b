"""The embedded default prompt (`dataset.prompt=default`) and the `chat` preset.

A tokenizer that carries a chat template (an instruct model) gets user turns of
question and the task's answer instruction, then the generation prompt. Without
one, a real task gets plain `Q:`/`A:` with the instruction after the question,
so a base model is still told the answer format the scorer reads. The synthetic
twins keep the bare `Q:`/`A:` the tiny base is pre-trained on.
"""

from __future__ import annotations

from typing import Any


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def chat_prompt(question: str, instruction: str, tokenizer: Any, few_shot: list[tuple[str, str]] = ()) -> str:
    """User turns `question\\ninstruction` (shots answered by assistant turns), then the generation prompt."""
    if not has_chat_template(tokenizer):
        raise ValueError("dataset.prompt=chat needs a tokenizer with a chat template (an instruct model); use dataset.prompt=default or a few-shot preset")
    messages: list[dict[str, str]] = []
    for shot_question, shot_answer in few_shot:
        messages += [
            {"role": "user", "content": f"{shot_question}\n{instruction}"},
            {"role": "assistant", "content": shot_answer},
        ]
    messages.append({"role": "user", "content": f"{question}\n{instruction}"})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def build_prompt(question: str, instruction: str, tokenizer: Any, few_shot: list[tuple[str, str]] = ()) -> str:
    """A real task's default prompt; `few_shot` holds (question, worked answer) pairs shown before the question."""
    if has_chat_template(tokenizer):
        return chat_prompt(question, instruction, tokenizer, few_shot)
    shots = "".join(f"Q: {q}\n{instruction}\nA: {a}\n\n" for q, a in few_shot)
    return f"{shots}Q: {question}\n{instruction}\nA: "


def synthetic_prompt(question: str, instruction: str, tokenizer: Any) -> str:
    """A synthetic twin's prompt: chat turns with a template, else the bare `Q:`/`A:` the tiny base learned
    (the committed regression baselines depend on it)."""
    if has_chat_template(tokenizer):
        return chat_prompt(question, instruction, tokenizer)
    return f"Q: {question}\nA: "
