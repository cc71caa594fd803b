"""Golden cases for the MATH grader: extraction, both verdict columns, hostile input, concurrency."""

from __future__ import annotations

import multiprocessing
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from evaluators.grading import math as math_grading
from evaluators.grading import math_verify_worker
from evaluators.grading.math import hendrycks_normalize, last_boxed, score

# (boxed answer, gold `answer` field, math-verify verdict, Hendrycks string-match verdict)
GOLDEN = [
    ("0.5", "\\frac{1}{2}", True, True),  # Hendrycks special-cases exactly "0.5"
    ("0.50", "\\frac{1}{2}", True, False),
    (".5", "\\frac{1}{2}", True, True),  # leading-zero fix
    ("1.5", "\\frac{3}{2}", True, False),
    ("\\dfrac{1}{2}", "\\frac{1}{2}", True, True),
    ("\\tfrac12", "\\frac{1}{2}", True, True),
    ("1/2", "\\frac{1}{2}", True, True),
    ("\\frac{2}{4}", "\\frac{1}{2}", True, False),
    ("-\\frac12", "-\\frac{1}{2}", True, True),
    ("\\sqrt2", "\\sqrt{2}", True, True),
    ("\\sqrt{12}", "2\\sqrt{3}", True, False),
    ("\\frac{\\sqrt3}{2}", "\\frac{\\sqrt{3}}{2}", True, True),
    ("\\frac{1}{2}\\pi", "\\frac{\\pi}{2}", True, False),
    ("\\left( 3, \\infty \\right)", "(3, \\infty)", True, True),
    ("[3, \\infty)", "(3, \\infty)", False, False),
    ("(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty,2)\\cup(3,\\infty)", True, True),
    ("2, 1", "1, 2", True, False),  # a list of solutions is a set to math-verify
    ("\\{1,2\\}", "\\{2, 1\\}", True, False),
    ("10\\text{ cm}", "10", True, True),
    ("10", "10\\text{ cm}", True, True),
    ("30^\\circ", "30", True, True),
    ("30", "30^{\\circ}", True, True),
    ("10\\%", "10", True, True),
    ("10", "10\\%", True, True),
    ("0.1", "10\\%", False, False),  # a percent sign is dropped as a unit, not read as 1/100
    ("\\$18.90", "18.90", True, True),
    ("-3", "-3", True, True),
    ("3", "-3", False, False),
    ("x = 5", "5", True, True),
    ("1,000", "1000", True, False),
    ("(x+1)^2", "x^2+2x+1", True, False),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", True, True),
    ("\\text{(C)}", "\\text{(C)}", True, True),
    ("\\text{Evelyn}", "\\text{Evelyn}", True, True),
    ("\\infty", "\\infty", True, True),
    ("5", "6", False, False),
]


@pytest.fixture(autouse=True)
def fresh_verdicts(monkeypatch) -> None:
    """Each test grades for real: nothing remembered from earlier tests."""
    monkeypatch.setattr(math_verify_worker, "_verdicts", OrderedDict())


@pytest.fixture
def warm() -> None:
    """Start a math-verify child first, so timed checks time the item, not the startup."""
    assert score("\\boxed{1}", "1").correct


@pytest.mark.parametrize(("answer", "gold", "math_verify", "hendrycks"), GOLDEN)
def test_golden(answer: str, gold: str, math_verify: bool, hendrycks: bool) -> None:
    result = score(f"Some reasoning. So the answer is $\\boxed{{{answer}}}$.", gold)
    assert (result.correct, result.extra["hendrycks"]) == (math_verify, hendrycks)
    assert result.reward == float(math_verify)
    assert result.extracted == hendrycks_normalize(answer)
    assert result.extra["timeout"] is False


# (completion, gold, lighteval verdict, boxed verdict): lighteval reads the whole completion
WHOLE_COMPLETION = [
    ("So the answer is $\\frac{1}{2}$.", "0.5", True, False),  # unboxed LaTeX answer
    ("The final answer is $7$. I hope it is correct.", "7", True, False),  # Minerva's answer line
    ("First $3$, then $4$, so \\boxed{5}.", "5", True, True),  # the box comes first
    ("\\boxed{5} is wrong; it is $6$.", "5", True, True),  # ... even before a later LaTeX answer
    ("We get \\boxed{3} then \\boxed{5}", "5", False, True),  # math-verify reads both boxes as the set {3, 5}
    ("no math here, just 42", "42", False, False),  # plain-expression extraction (sympy eval) is never used
    ("", "1", False, False),
]


@pytest.mark.parametrize(("completion", "gold", "lighteval", "boxed"), WHOLE_COMPLETION)
def test_lighteval_grading_reads_the_whole_completion_boxed_first(completion: str, gold: str, lighteval: bool, boxed: bool) -> None:
    whole = score(completion, gold, grading="lighteval")
    assert (whole.correct, score(completion, gold, grading="boxed").correct) == (lighteval, boxed)
    assert whole.reward == float(lighteval) and whole.extra["timeout"] is False
    assert (whole.extracted is None) == (completion in ("", "no math here, just 42"))


def test_lighteval_grading_extracts_the_canonical_answer_for_voting() -> None:
    assert score("So it is $\\dfrac{1}{2}$.", "\\frac{1}{2}", grading="lighteval").extracted == "\\frac{1}{2}"


def test_the_math_task_grades_like_lighteval_unless_told_boxed() -> None:
    from evaluators.tasks import get_task

    assert get_task("math").score("Thus $x = 12$.", "12").correct
    assert not get_task("math", grading="boxed").score("Thus $x = 12$.", "12").correct
    with pytest.raises(ValueError, match="grading must be one of lighteval, boxed"):
        get_task("math", grading="strict")


def test_no_boxed_answer_is_wrong_and_abstains() -> None:
    result = score("The answer is 5.", "5")
    assert (result.reward, result.correct, result.extracted) == (0.0, False, None)
    assert score("\\boxed{}", "5").extracted is None


def test_last_boxed_wins() -> None:
    completion = "First try \\boxed{3}, no wait: \\boxed{4}."
    assert score(completion, "4").correct
    assert not score(completion, "3").correct


def test_equal_answers_vote_together() -> None:
    spellings = ["\\boxed{0.5}", "\\boxed{\\dfrac{1}{2}}", "\\boxed{1/2}", "\\boxed{\\frac12}"]
    assert {score(s, "\\frac{1}{2}").extracted for s in spellings} == {"\\frac{1}{2}"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}"),
        ("a \\boxed{1} b \\fbox{2} c", "2"),
        ("\\fbox{2} then \\boxed{1}", "1"),
        ("so $\\boxed 5$ done", "5"),
        ("\\boxed {7}", "7"),
        ("\\boxed\t {7}", "7"),
        ("\\boxed  6\nthen more", "6"),
        ("\\boxed5", None),  # a longer command, not a box
        ("\\boxed{", None),
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces are not groups
        ("\\boxed{\\left\\{ x \\right.}", "\\left\\{ x \\right."),
        ("\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
        ("\\boxed{}", ""),
        ("\\boxed{1} and then \\boxed{\\frac{1}{2}", None),  # last one unbalanced
        ("\\boxed", None),
        ("no answer", None),
    ],
)
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\\left( 1, 2 \\right)", "(1,2)"),
        ("\\dfrac{3}{4}", "\\frac{3}{4}"),
        ("\\frac1{2}", "\\frac{1}{2}"),
        ("\\frac", "\\frac"),
        ("\\sqrt", "\\sqrt"),
        ("-3/4", "\\frac{-3}{4}"),
        ("03/4", "03/4"),
        ("5\\text{ inches}", "5"),
        ("50\\%", "50"),
        ("90^\\circ", "90"),
        ("\\$5", "5"),
        ("k = 2", "2"),
        ("x + y = 2", "x+y=2"),
        ("1\\!000", "1000"),
        ("", ""),
        # one case per rule of strip_string, so that dropping or changing any of them fails
        ("1\n2", "12"),
        ("\\\\frac{1}{3}", "\\frac{1}{3}"),
        ("\\tfrac{1}{3}", "\\frac{1}{3}"),
        ("90^{\\circ}", "90"),
        ("\\left[ 1, 2 \\right]", "[1,2]"),
        ("50%", "50"),
        ("(1, .25)", "(1,0.25)"),
        ("\\frac{.25}{3}", "\\frac{0.25}{3}"),
        (".25", "0.25"),
        ("0.5", "\\frac{1}{2}"),
        (".5", "\\frac{1}{2}"),
        ("ab= 3", "3"),  # the left side is at most two characters, its space included (as the original)
        ("ab = 3", "ab=3"),
        ("x = y = 2", "x=y=2"),
        ("\\sqrt2", "\\sqrt{2}"),
        ("\\sqrt23 + \\sqrt{5}", "\\sqrt{2}3+\\sqrt{5}"),
        ("\\frac12", "\\frac{1}{2}"),
        ("\\frac123", "\\frac{1}{2}3"),
        ("\\frac{1}{4} + \\frac1", "\\frac{1}{4}+\\frac1"),
        ("3/4", "\\frac{3}{4}"),
        ("1/2/3", "1/2/3"),
        ("a/4", "a/4"),
        ("3/04", "3/04"),
        ("5\\text{ cm}^2", "5"),
        ("5\\text{cm}", "5\\text{cm}"),
    ],
)
def test_hendrycks_normalize(raw: str, expected: str) -> None:
    assert hendrycks_normalize(raw) == expected


BIG = 1 << 20
HOSTILE = {
    "1 MB without a box": "x" * BIG,
    "1 MB inside a box": "\\boxed{" + "1" * BIG + "}",
    "frac nested 10,000 deep": "\\boxed{" + "\\frac{" * 10_000 + "1}{2}" * 10_000 + "}",
    "frac nested 10,000 deep, unclosed": "\\boxed{" + "\\frac{" * 10_000,
    "power tower": "\\boxed{9^9^9^9^9}",
    "python code": "\\boxed{__import__('os').system('touch {marker}')}",
}


@pytest.mark.parametrize("grading", math_grading.GRADING_MODES)
@pytest.mark.parametrize("name", [*HOSTILE, "python code, unboxed"])
def test_hostile_input_is_wrong_and_fast(name: str, grading: str, warm: None, tmp_path) -> None:
    marker = tmp_path / "pwned"
    timeout_s = 2.0
    started = time.monotonic()
    text = HOSTILE.get(name, "__import__('os').system('touch {marker}')")
    result = score(text.replace("{marker}", str(marker)), "5", timeout_s=timeout_s, grading=grading)
    assert time.monotonic() - started < timeout_s + 1.0
    assert not result.correct and result.reward == 0.0
    assert not marker.exists()


def test_slow_item_is_recorded_as_timeout(warm: None) -> None:
    started = time.monotonic()
    result = score("\\boxed{9^{9^{9^{9^9}}}}", "5", timeout_s=0.5)  # sympy would compute 9^(9^9) first
    assert time.monotonic() - started < 1.5
    assert result.extra["timeout"] is True and not result.correct
    assert score("\\boxed{2}", "2").correct  # a fresh child replaces the killed one


def test_a_repeated_timeout_costs_its_timeout_once(warm: None) -> None:
    tower = "\\boxed{9^{9^{9^{9^9}}}}"
    assert score(tower, "5", timeout_s=0.5).extra["timeout"] is True
    started = time.monotonic()
    again = score(tower, "5", timeout_s=30.0)  # would run for the full 30 s if asked again
    assert time.monotonic() - started < 0.5
    assert again.extra["timeout"] is True and not again.correct


def test_a_repeated_answer_is_graded_once(monkeypatch) -> None:
    pool = math_verify_worker.VerifierPool(size=1)
    monkeypatch.setattr(math_verify_worker, "_pool", pool)
    first = math_verify_worker.check("\\boxed{\\frac{1}{2}}", "\\boxed{0.5}", timeout_s=30.0)
    (child,) = pool._children
    child._proc.kill()  # asked again, the dead child would make the answer wrong
    child._proc.wait()
    again = math_verify_worker.check("\\boxed{\\frac{1}{2}}", "\\boxed{0.5}", timeout_s=30.0)
    pool.close()
    assert first.correct and again == first


def test_brace_depth_counts_groups_not_escaped_braces() -> None:
    assert math_grading._brace_depth("5") == 0
    assert math_grading._brace_depth("\\frac{1}{\\sqrt{2}}") == 2
    assert math_grading._brace_depth("\\{1, 2\\}") == 0  # a set's braces are escaped: no group


def test_too_deep_answer_skips_sympy() -> None:
    deep = "\\frac{" * (math_grading.MAX_BRACE_DEPTH + 1) + "1" + "}{2}" * (math_grading.MAX_BRACE_DEPTH + 1)
    result = score("\\boxed{" + deep + "}", "1")
    assert not result.correct and result.extra["timeout"] is False


def _batch() -> tuple[list[str], list[str], list[bool]]:
    cases = GOLDEN * 3
    completions = [f"\\boxed{{{answer}}}" for answer, *_ in cases]
    return completions, [gold for _, gold, *_ in cases], [verdict for _, _, verdict, _ in cases]


def test_score_from_thread_pool() -> None:
    completions, golds, expected = _batch()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(score, completions, golds))
    assert [r.correct for r in results] == expected


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_score_from_process_pool(start_method: str, warm: None) -> None:
    """`fork` inherits this process's warm pool, which the child must not reuse."""
    completions, golds, expected = _batch()
    context = multiprocessing.get_context(start_method)
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        results = list(pool.map(score, completions, golds, chunksize=8))
    assert [r.correct for r in results] == expected


def test_score_from_daemonic_multiprocessing_pool() -> None:
    """multiprocessing.Pool workers are daemonic and may not start multiprocessing children."""
    completions, golds, expected = _batch()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.starmap(score, zip(completions, golds))
    assert [r.correct for r in results] == expected


def test_answers_at_the_length_and_depth_limits_are_still_graded():
    at_length = "1" + " " * (math_grading.MAX_ANSWER_CHARS - 1)
    assert score(f"\\boxed{{{at_length}}}", "1").correct and not score(f"\\boxed{{{at_length} }}", "1").correct
    nested = lambda depth: "\\frac{1}{" * depth + "1" + "}" * depth  # 1/(1/(...)) = 1, `depth` braces deep
    assert score(f"\\boxed{{{nested(math_grading.MAX_BRACE_DEPTH)}}}", "1").correct
    assert not score(f"\\boxed{{{nested(math_grading.MAX_BRACE_DEPTH + 1)}}}", "1").correct


def test_an_unknown_grading_mode_names_the_known_ones():
    with pytest.raises(ValueError, match=r"^MATH grading must be one of lighteval, boxed; got 'strict'$"):
        score("\\boxed{1}", "1", grading="strict")


def test_an_unbraced_box_keeps_its_first_letter_and_a_double_equals_is_no_assignment():
    """`\\boxed X5` runs from X (only spaces and tabs are skipped); `x==5` is not `x = 5`."""
    assert last_boxed("\\boxed X5$") == "X5"
    assert hendrycks_normalize("x==5") == "x==5"
