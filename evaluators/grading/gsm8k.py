"""GSM8K answer extraction and numeric comparison.

Strict mode reads the first `#### N` (lm-eval's strict-match); flexible mode reads
the last number in the text (lm-eval's flexible-extract). Both strip `$`, thousands
commas and a trailing `.`, and compare exactly as rationals, so `18`, `18.0`,
`$18` and `#### 18.` all match a gold of 18 (verl rejects the last two).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from evaluators.types import Score

_NUMBER = r"-?\$?\s?\d[\d,]*(?:\.\d+)?|-?\$?\s?\.\d+"
_STRICT = re.compile(r"####\s*(" + _NUMBER + r")")
_ANY_NUMBER = re.compile(_NUMBER)


def canonical_number(text: str) -> str | None:
    """`'$1,234.50.'` -> `'1234.5'`: one spelling per value, for voting; None if not a number."""
    value = parse_number(text)
    if value is None:
        return None
    if value.denominator == 1:
        return str(value.numerator)
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f").rstrip("0")


def parse_number(text: str) -> Fraction | None:
    cleaned = text.strip().replace("$", "").replace(",", "").replace(" ", "").rstrip(".")
    if not cleaned:
        return None
    try:
        return Fraction(Decimal(cleaned))
    except (InvalidOperation, ValueError):
        return None


def extract_strict(completion: str) -> str | None:
    match = _STRICT.search(completion)
    return canonical_number(match.group(1)) if match else None


def extract_flexible(completion: str) -> str | None:
    matches = _ANY_NUMBER.findall(completion)
    return canonical_number(matches[-1]) if matches else None


def gold_number(answer_field: str) -> str:
    """The gold number of a GSM8K `answer` field (text ending in `#### N`)."""
    gold = extract_strict(answer_field)
    if gold is None:
        raise ValueError(f"GSM8K gold has no parsable '#### N': {answer_field[-80:]!r}")
    return gold


def numbers_equal(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    x, y = parse_number(a), parse_number(b)
    return x is not None and x == y


INSTRUCTION = "Solve step by step and end with the final answer on its own line as '#### N'."


def score(completion: str, gold: str, mode: str = "strict") -> Score:
    """Reward 1 when the `mode` extraction equals the gold of the `answer` field."""
    if mode not in ("strict", "flexible"):
        raise ValueError(f"GSM8K match mode must be 'strict' or 'flexible', got {mode!r}")
    target = gold_number(gold)
    strict, flexible = extract_strict(completion), extract_flexible(completion)
    extracted = strict if mode == "strict" else flexible
    correct = numbers_equal(extracted, target)
    return Score(
        reward=float(correct),
        correct=correct,
        extracted=extracted,
        extra={"strict": numbers_equal(strict, target), "flexible": numbers_equal(flexible, target)},
    )
