"""HotpotQA answer extraction and the official EM / token-F1 metric.

Normalisation and F1 follow the official `hotpot_evaluate_v1.py`: lower-case, drop
punctuation, drop the articles a/an/the, squeeze whitespace; F1 is 0 when either
side normalises to yes/no/noanswer and the two differ. Scores are maxed over golds.

The model's answer is its answer line: the first non-empty line after the first
`Answer:` (any case), else the last non-empty line of the completion, with a
trailing period stripped. An empty answer is no answer. The first marker, not the
last, as lm-eval's take-first filters do: a base model that goes on to invent the
next question and its answer is scored on its own answer.
"""

from __future__ import annotations

import re
import string
from collections import Counter

from evaluators.types import Score

INSTRUCTION = "Answer with a short span on a final line starting with 'Answer:'."

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ANSWER_MARKER = re.compile(r"answer:", re.IGNORECASE)
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_CLOSED_ANSWERS = {"yes", "no", "noanswer"}


def normalize_answer(s: str) -> str:
    return " ".join(_ARTICLES.sub(" ", s.lower().translate(_PUNCTUATION)).split())


def exact_match(prediction: str, gold: str | list[str]) -> bool:
    target = normalize_answer(prediction)
    return any(target == normalize_answer(g) for g in _golds(gold))


def f1(prediction: str, gold: str | list[str]) -> float:
    return max(_f1_one(normalize_answer(prediction), normalize_answer(g)) for g in _golds(gold))


def _f1_one(prediction: str, gold: str) -> float:
    if prediction != gold and (prediction in _CLOSED_ANSWERS or gold in _CLOSED_ANSWERS):
        return 0.0
    pred_tokens, gold_tokens = prediction.split(), gold.split()
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _golds(gold: str | list[str]) -> list[str]:
    golds = [gold] if isinstance(gold, str) else list(gold)
    if not golds:
        raise ValueError("HotpotQA needs at least one gold answer")
    return golds


def extract_answer(completion: str) -> str | None:
    """The answer line as written (see the module docstring); None when there is none."""
    marker = _ANSWER_MARKER.search(completion)
    text = completion[marker.end() :] if marker else completion
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    answer = (lines[0] if marker else lines[-1]).removesuffix(".").strip()
    return answer or None


def score(completion: str, gold: str | list[str]) -> Score:
    """Reward = exact match with any gold; F1 as a secondary column."""
    answer = extract_answer(completion)
    if answer is None:
        return Score(reward=0.0, correct=False, extracted=None, extra={"f1": 0.0, "em": False})
    em = exact_match(answer, gold)
    return Score(
        reward=float(em),
        correct=em,
        extracted=normalize_answer(answer),
        extra={"f1": f1(answer, gold), "em": em},
    )
