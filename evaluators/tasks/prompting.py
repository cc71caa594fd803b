"""Prompt templates shared by every task.

Tiny and base models get a plain `Question/Answer` template; a tokenizer that
carries a chat template (an instruct model) gets the user turn with the task's
conventional answer instruction, then the generation prompt.
"""

from __future__ import annotations

from typing import Any


def build_prompt(question: str, instruction: str, tokenizer: Any, few_shot: list[tuple[str, str]] = ()) -> str:
    """`few_shot` holds (question, worked answer) pairs shown before the question."""
    if getattr(tokenizer, "chat_template", None):
        messages: list[dict[str, str]] = []
        for shot_question, shot_answer in few_shot:
            messages += [
                {"role": "user", "content": f"{shot_question}\n{instruction}"},
                {"role": "assistant", "content": shot_answer},
            ]
        messages.append({"role": "user", "content": f"{question}\n{instruction}"})
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    shots = "".join(f"Q: {q}\nA: {a}\n\n" for q, a in few_shot)
    return f"{shots}Q: {question}\nA: "
