"""GSM8K answer extraction and numeric comparison.

Strict mode reads the first `#### N` (lm-eval's strict-match); flexible mode reads
the last number in the text (lm-eval's flexible-extract). Both strip `$`, thousands
commas and a trailing `.`, and compare exactly as rationals, so `18`, `18.0`,
`$18` and `#### 18.` all match a gold of 18 (verl rejects the last two).

Numbers are compared as canonical digit strings, never converted: Python refuses to
print an int over 4,300 digits and `Fraction(Decimal(s))` is quadratic in the digits,
so a degenerate rollout with a long digit run would otherwise crash or stall a run.
"""

from __future__ import annotations

import re

from evaluators.types import Score

# An optional '-', an optional '$' (one space or tab may follow it, not a sign), then ASCII
# digits; a run of digits and dots such as '1.2.3' is no number at all (as for lm-eval).
_NUMBER = r"-?(?:\$[ \t]?)?(?<![0-9.])(?:[0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)(?!\.?[0-9])"
_STRICT = re.compile(r"####\s*(" + _NUMBER + r")")
_ANY_NUMBER = re.compile(_NUMBER)
_PLAIN_DECIMAL = re.compile(r"(-?)(?=\.?[0-9])([0-9]*)(?:\.([0-9]*))?")  # at least one digit


def canonical_number(text: str) -> str | None:
    """`'$1,234.50.'` -> `'1234.5'`: one spelling per value, for voting; None if not a number."""
    cleaned = "".join(text.split()).replace("$", "").replace(",", "").rstrip(".")
    match = _PLAIN_DECIMAL.fullmatch(cleaned)
    if match is None:
        return None
    sign, whole, fraction = match.group(1), match.group(2).lstrip("0") or "0", (match.group(3) or "").rstrip("0")
    if whole == "0" and not fraction:
        sign = ""  # -0 is 0
    return sign + whole + ("." + fraction if fraction else "")


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
    x = canonical_number(a)
    return x is not None and x == canonical_number(b)


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
