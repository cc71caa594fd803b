"""pass@k, maj@k and standard errors against hand-computed values."""

import itertools
import math
import random
import warnings
from collections import Counter

import numpy as np
import pytest

from evaluators import maj_at_k, pass_at_k
from evaluators.majority import _pascal, maj_at_ks
from evaluators.passk import ProblemResult, default_ks, mean_and_stderr, summarize


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (10, 0, 1, 0.0),
        (10, 10, 5, 1.0),
        (10, 3, 1, 0.3),  # pass@1 = c/n
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (16, 2, 8, 1 - 28 / 120),  # 1 - C(14,8)/C(16,8) = 1 - 3003/12870 = 0.7667 (biased form: 0.656)
        (6, 4, 3, 1.0),  # n - c = 2 < k = 3: every 3-subset holds a success
    ],
)
def test_pass_at_k_hand_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_matches_combinatorial_form_without_overflow():
    # float(comb(2000, 500)) overflows; the product form must not.
    n, c, k = 200, 13, 50
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))
    assert 0.0 < pass_at_k(2000, 3, 500) < 1.0


@pytest.mark.parametrize("n, c, k", [(4, 0, 8), (4, 4, 5), (1, 0, 2)])
def test_pass_at_k_with_fewer_samples_than_k_is_an_error(n, c, k):
    with pytest.raises(ValueError, match="at least k samples"):
        pass_at_k(n, c, k)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError, match="need 0 <= c <= n"):
        pass_at_k(4, 5, 1)


def test_maj_at_k_hand_case():
    # answers 1 (correct), 2, 1 (correct), abstain. Over the 4 subsets of size 3:
    # {1,2,1} -> 1 ok; {1,2,-} -> tie, counts 1/2; {1,1,-} -> ok; {2,1,-} -> tie, 1/2.
    assert maj_at_k(["1", "2", "1", None], [True, False, True, False], 3) == pytest.approx(3 / 4)
    # maj@1 = pass@1 = fraction of correct samples.
    assert maj_at_k(["1", "2", "1", None], [True, False, True, False], 1) == pytest.approx(2 / 4)
    assert maj_at_k([None] * 4, [False] * 4, 2) == 0.0


def test_a_wrong_answer_with_a_correct_ones_canonical_string_votes_wrong():
    # MATH: `5` is right; `5\text{ or }7` normalises to `5` too, and math-verify calls it wrong.
    answers, correct = ["5", "5", "5", "7"], [True, False, False, False]
    assert maj_at_k(answers, correct, 4) == 0.0  # two wrong "5"s outvote the one right "5"
    assert maj_at_k(answers, correct, 1) == pytest.approx(1 / 4)


def test_an_empty_answer_abstains():
    assert maj_at_k(["", "", "3"], [False, False, True], 3) == 1.0


def test_correct_answers_vote_together_however_spelled():
    assert maj_at_k(["3", "1/2", "0.5"], [False, True, True], 3) == 1.0


def _brute_force_maj(answers, correct, k):
    """Every size-k subset, its vote counted by hand; ties split evenly."""
    classes = ["correct" if ok else (a or None) for a, ok in zip(answers, correct)]
    total = 0.0
    for subset in itertools.combinations(classes, k):
        votes = Counter(c for c in subset if c is not None)
        top = [c for c, v in votes.items() if v == max(votes.values(), default=0)]
        total += ("correct" in top) / len(top) if top else 0.0
    return total / math.comb(len(classes), k)


def test_two_rivals_each_as_large_as_the_correct_class():
    # 2 correct, 2 "a", 2 "b": all six samples tie three ways (1/3); the random cases
    # rarely hold two wrong classes that both reach the correct count.
    answers, correct = ["1", "1", "a", "a", "b", "b"], [True, True, False, False, False, False]
    assert maj_at_k(answers, correct, 6) == pytest.approx(1 / 3)
    ks = list(range(1, 7))
    assert maj_at_ks(answers, correct, ks) == pytest.approx([_brute_force_maj(answers, correct, k) for k in ks], abs=1e-12)


def test_maj_at_k_rejects_mismatched_lists_and_too_few_samples():
    with pytest.raises(ValueError, match="^answers and correct must have one entry per sample$"):
        maj_at_k(["1", "2"], [True], 1)
    with pytest.raises(ValueError, match="maj@3 needs at least k samples per problem, got n=2"):
        maj_at_k(["1", "2"], [True, False], 3)


@pytest.mark.parametrize("seed", range(40))
def test_maj_at_k_equals_brute_force_over_all_subsets(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 11)
    labels = [None, ""] + [str(i) for i in range(rng.randint(1, 4))]
    answers = [rng.choice(labels) for _ in range(n)]
    correct = [a == "0" or (a == "1" and rng.random() < 0.5) for a in answers]  # "1" is mixed
    ks = list(range(1, n + 1))
    assert maj_at_ks(answers, correct, ks) == pytest.approx([_brute_force_maj(answers, correct, k) for k in ks], abs=1e-12)


def test_summarize_standard_error_is_over_problems():
    problems = [
        ProblemResult("a", [True, True], ["1", "1"]),  # pass@1 = 1
        ProblemResult("b", [True, False], ["2", "3"]),  # pass@1 = 0.5
        ProblemResult("c", [False, False], ["4", None]),  # pass@1 = 0
    ]
    metrics = summarize(problems, [1, 2])
    # per-problem pass@1 = [1, .5, 0]: mean .5, sd (ddof=1) = .5, SE = .5 / sqrt(3)
    assert metrics["pass@1"] == pytest.approx(0.5)
    assert metrics["pass@1_stderr"] == pytest.approx(0.5 / math.sqrt(3))
    # pass@2 per problem = [1, 1, 0]
    assert metrics["pass@2"] == pytest.approx(2 / 3)
    assert metrics["mean@2"] == metrics["pass@1"]


def test_summarize_reports_maj_at_k_over_problems():
    problems = [
        ProblemResult("a", [True, True], ["1", "1"]),  # maj@2 = 1
        ProblemResult("b", [True, False], ["2", "3"]),  # a 1-1 tie: maj@2 = 1/2
        ProblemResult("c", [False, False], ["4", None]),  # maj@2 = 0
    ]
    metrics = summarize(problems, [1, 2])
    assert metrics["maj@1"] == pytest.approx(0.5)  # maj@1 = pass@1
    assert metrics["maj@2"] == pytest.approx(0.5)
    assert metrics["maj@2_stderr"] == pytest.approx(0.5 / math.sqrt(3))


def test_summarize_rejects_problems_with_different_sample_counts():
    problems = [ProblemResult("a", [True], ["1"]), ProblemResult("b", [True, False], ["1", "2"])]
    with pytest.raises(ValueError, match=r"same number of samples, got \[1, 2\]"):
        summarize(problems, [1])


def test_standard_error_of_two_problems_and_of_one():
    # sd(ddof=1) of [1, 0] is 1/sqrt(2); over sqrt(2) problems: 1/2
    assert mean_and_stderr([1.0, 0.0]) == pytest.approx((0.5, 0.5))
    mean, se = mean_and_stderr([0.25])
    assert mean == 0.25 and math.isnan(se)  # one problem: no spread to estimate
    with pytest.raises(ValueError, match="^no problems to average$"):
        mean_and_stderr([])


def test_mean_and_stderr_computes_in_float64_whatever_the_input_dtype():
    """Pins the float64 cast: float32 scores (say from a torch tensor) are not averaged in float32."""
    # 1 and 2**-30 are exact in float32, but float32's 1 + 2**-30 rounds back to 1 (its ulp at 1
    # is 2**-23), so a float32 mean would be 0.5. In float64 the mean is exactly 0.5 + 2**-31.
    mean, se = mean_and_stderr(np.array([1.0, 2**-30], dtype=np.float32))
    assert mean == 0.5 + 2**-31
    # sd(ddof=1) of [a, b] is |a - b| / sqrt(2); over sqrt(2) problems: |a - b| / 2
    assert se == pytest.approx((1 - 2**-30) / 2, rel=1e-15)


def test_standard_error_of_one_problem_is_nan_without_a_numpy_warning():
    """Pins the size > 1 guard: one problem gives SE nan directly, not numpy's ddof=1 warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "Degrees of freedom <= 0" would raise here
        mean, se = mean_and_stderr([0.75])
    assert mean == 0.75 and math.isnan(se)


def test_pascal_table_is_the_binomial_coefficients():
    """Pins maj@k's table: binom[a, b] = C(a, b), 0 for b > a, for 0 <= a, b <= n."""
    # row 4 by hand: 1 4 6 4 1; row 2: 1 2 1 0 0
    n = 6
    table = _pascal(n)
    assert list(table[4, :5]) == [1, 4, 6, 4, 1] and list(table[2, :5]) == [1, 2, 1, 0, 0]
    assert np.array_equal(table, [[math.comb(a, b) for b in range(n + 1)] for a in range(n + 1)])


def test_default_ks_are_powers_of_two_up_to_n():
    assert default_ks(64) == [1, 2, 4, 8, 16, 32, 64]
    assert default_ks(12) == [1, 2, 4, 8, 12]
