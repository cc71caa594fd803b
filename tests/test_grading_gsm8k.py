"""Golden cases for the GSM8K grader: strict `#### N` and flexible last-number extraction."""

from __future__ import annotations

import pytest

from evaluators.grading.gsm8k import canonical_number, gold_number, score

GOLD_18 = "Janet sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\n#### 18"

# (completion, gold field, strict verdict, flexible verdict)
GOLDEN = [
    ("So she makes 18 dollars.\n#### 18", GOLD_18, True, True),
    ("#### $18", GOLD_18, True, True),
    ("#### $ 18", GOLD_18, True, True),
    ("#### 18.", GOLD_18, True, True),  # trailing sentence period
    ("#### 18.0", GOLD_18, True, True),
    ("#### 18.00 dollars", GOLD_18, True, True),
    ("#### 018", GOLD_18, True, True),
    ("The answer is 18.", GOLD_18, False, True),  # no `####`: strict abstains
    ("#### 18\nWait, 20 eggs were sold.", GOLD_18, True, False),  # flexible reads the last number
    ("#### 17\n#### 18", GOLD_18, False, True),  # strict takes the first `####`
    ("#### eighteen", GOLD_18, False, False),
    ("", GOLD_18, False, False),
    ("#### 1,234", "#### 1234", True, True),
    ("Total: $1,234.", "#### 1234", False, True),
    ("#### 1234", "So 1,000 + 234 = 1,234\n#### 1,234", True, True),
    ("#### -5", "#### -5", True, True),
    ("#### -$5", "#### -5", True, True),
    ("#### 5", "#### -5", False, False),
    ("#### 0.5", "#### .5", True, True),
    ("#### 2.50", "#### 2.5", True, True),
    ("#### 2.51", "#### 2.5", False, False),
    ("#### 1/2", "#### 0.5", False, False),  # fractions are not numbers here
    # a '-' before a space is a bullet or an operator, not a sign (lm-eval reads 5 and 3 too)
    ("Left:\n- 5", "#### 5", False, True),
    ("10 - 3", "#### 3", False, True),
    ("#### - 5", "#### -5", False, False),
    ("It costs $\n5", "#### 5", False, True),  # a newline after '$' does not swallow the number
    ("18 apples and \uff19 pears", "#### 18", False, True),  # a fullwidth digit is no number
    ("v1.2.3", "#### 0.3", False, False),  # a dotted run is no number, not 1.2 then .3
]


@pytest.mark.parametrize(("completion", "gold", "strict", "flexible"), GOLDEN)
def test_golden(completion: str, gold: str, strict: bool, flexible: bool) -> None:
    strict_score = score(completion, gold, mode="strict")
    flexible_score = score(completion, gold, mode="flexible")
    assert (strict_score.correct, flexible_score.correct) == (strict, flexible)
    assert strict_score.extra == flexible_score.extra == {"strict": strict, "flexible": flexible}
    assert strict_score.reward == float(strict)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("18", "18"), ("18.0", "18"), ("$1,234.50.", "1234.5"), ("-0.250", "-0.25"), (".5", "0.5"), ("abc", None), ("5X", None)],
)
def test_canonical_number_is_one_spelling_per_value(text: str, canonical: str | None) -> None:
    assert canonical_number(text) == canonical


def test_extracted_is_canonical_and_none_without_answer() -> None:
    assert score("#### $1,000.00", "#### 1000").extracted == "1000"
    assert score("no digits here", "#### 1000", mode="flexible").extracted is None


def test_gold_without_marker_is_an_error() -> None:
    with pytest.raises(ValueError, match="####"):
        gold_number("The answer is 18")
    answer = "".join(chr(ord("a") + i % 26) for i in range(100))  # the error quotes the field's last 80 characters
    with pytest.raises(ValueError) as error:
        gold_number(answer)
    assert str(error.value) == f"GSM8K gold has no parsable '#### N': {answer[20:]!r}"


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ValueError, match="strict"):
        score("#### 18", GOLD_18, mode="lenient")


@pytest.mark.timeout(20)  # the old Fraction(Decimal(...)) path took ~58 s here, then raised
def test_a_megabyte_digit_run_scores_without_crashing() -> None:
    digits = "7" * (1 << 20)
    completion = f"Let me count: {digits}\n#### {digits}"
    strict = score(completion, f"#### {digits}")
    assert strict.correct and strict.extra == {"strict": True, "flexible": True}
    assert not score(completion, "#### 18", mode="flexible").correct
    assert canonical_number("-000" + digits + ".5000") == "-" + digits + ".5"


LONG = "9" * 5000  # over Python's 4,300-digit int/str limit


@pytest.mark.parametrize(("a", "b"), [(LONG, LONG + ".0"), ("00" + LONG, "$" + LONG + "."), ("0." + LONG + "0", "." + LONG)])
def test_equal_values_have_one_spelling_past_the_int_digit_limit(a: str, b: str) -> None:
    assert canonical_number(a) == canonical_number(b) is not None
    assert score(f"#### {a}", f"#### {b}").correct
