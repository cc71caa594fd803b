"""Golden cases for the HotpotQA grader: official normalisation, EM, token F1, answer line."""

from __future__ import annotations

import pytest

from evaluators.grading.hotpotqa import exact_match, extract_answer, f1, normalize_answer, score


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("The Beatles", "beatles"),
        ("  An   Apple a day ", "apple day"),
        ("Theatre", "theatre"),  # articles only as whole words
        ("U.S.A.", "usa"),
        ("Yes!", "yes"),
        ("Smith's", "smiths"),
        ("", ""),
    ],
)
def test_normalize_answer(raw: str, normalized: str) -> None:
    assert normalize_answer(raw) == normalized


# (prediction, gold, EM, F1)
GOLDEN = [
    ("the Beatles", "The Beatles", True, 1.0),
    ("Beatles.", "The Beatles", True, 1.0),
    ("yes", "Yes", True, 1.0),
    ("yes", "no", False, 0.0),
    ("no", "no answer", False, 0.0),  # gold "no answer" normalises to two tokens, "no" is closed
    ("yes it is", "yes", False, 0.0),  # gold is yes/no and they differ: F1 is 0, not 2/3
    # pred {barack, obama} vs gold {barack, hussein, obama}: common 2, P = 2/2, R = 2/3, F1 = 0.8
    ("Barack Obama", "Barack Hussein Obama", False, 0.8),
    # pred {new, york, city, usa} vs gold {new, york}: common 2, P = 2/4, R = 2/2, F1 = 2/3
    ("New York City, USA", "New York", False, 2 / 3),
    # repeats are a multiset: pred [new, new] vs gold [new]: common min(2, 1) = 1, P = 1/2, R = 1, F1 = 2/3
    ("new new", "new", False, 2 / 3),
    ("Paris", "London", False, 0.0),
    ("", "Paris", False, 0.0),
    ("1,000", "1000", True, 1.0),  # punctuation is dropped, not a separator
    # multiple golds: max over them, EM against any
    ("Chicago", ["Chicago, Illinois", "Chicago"], True, 1.0),
    # vs "New York City": common 2, P = 1, R = 2/3, F1 = 0.8; vs "NYC": 0
    ("New York", ["NYC", "New York City"], False, 0.8),
]


@pytest.mark.parametrize(("prediction", "gold", "em", "f1_score"), GOLDEN)
def test_exact_match_and_f1(prediction: str, gold: str | list[str], em: bool, f1_score: float) -> None:
    assert exact_match(prediction, gold) is em
    assert f1(prediction, gold) == pytest.approx(f1_score)


@pytest.mark.parametrize(
    ("completion", "answer"),
    [
        ("The band formed in Liverpool.\nAnswer: The Beatles.", "The Beatles"),
        ("ANSWER: Paris\n\nQuestion: Where is Rome?\nAnswer: Italy", "Paris"),  # first marker, any case:
        # an invented next question and its answer do not override the real answer
        ("answer:\n\n  Paris  \nbecause it is the capital", "Paris"),  # first line after the marker
        ("Reasoning here.\n\nParis.\n", "Paris"),  # no marker: last non-empty line
        ("Answer:", None),
        ("   \n ", None),
    ],
)
def test_extract_answer(completion: str, answer: str | None) -> None:
    assert extract_answer(completion) == answer


def test_score_rewards_exact_match_and_reports_f1() -> None:
    result = score("Both were born in Hawaii.\nAnswer: Barack Obama", "Barack Hussein Obama")
    assert (result.reward, result.correct, result.extracted) == (0.0, False, "barack obama")
    assert result.extra == {"f1": pytest.approx(0.8), "em": False}
    hit = score("Answer: the Beatles.", ["Beatles", "The Beatles (band)"])
    assert (hit.reward, hit.correct, hit.extracted, hit.extra) == (1.0, True, "beatles", {"f1": 1.0, "em": True})


def test_no_answer_abstains() -> None:
    result = score("", "Paris")
    assert (result.reward, result.extracted, result.extra) == (0.0, None, {"f1": 0.0, "em": False})


def test_empty_gold_list_is_an_error() -> None:
    with pytest.raises(ValueError, match="^HotpotQA needs at least one gold answer$"):
        score("Answer: Paris", [])
