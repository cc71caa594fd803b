"""MATH answer extraction and grading, in two named modes.

`lighteval` (the real MATH task's default): math-verify reads the whole completion and
finds the answer itself, `\\boxed{}` first, then other LaTeX answers (`$...$`, "the
final answer is"), as lighteval's MATH metric does (`lighteval/metrics/dynamic_metrics.py`,
`multilingual_extractive_match_metric`, gold and prediction with
`LatexExtractionConfig(boxed_match_priority=0)`). One departure: lighteval also tries
math-verify's plain-expression extraction (`ExprExtractionConfig`), which hands model
output to sympy's `parse_expr`, an `eval`; we never do, so an unboxed answer must be LaTeX.

`boxed`: the content of the last `\\boxed{}` only (Hendrycks et al.'s rule), judged by
math-verify; answers too long or too deeply nested to be a MATH answer are wrong
without reaching sympy. The synthetic twin keeps this rule, its demos always box.

Either way math-verify judges gold first, in a child process under our own per-item
time limit (`math_verify_worker`). The Hendrycks-normalised string match is kept as a
secondary column, and the normalised answer is the canonical form majority voting counts.
"""

from __future__ import annotations

import re

from evaluators.grading import math_verify_worker
from evaluators.types import Score

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
MAX_ANSWER_CHARS = 1000  # MATH answers are short; longer ones are wrong without parsing
MAX_BRACE_DEPTH = 32

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_BRACE_TOKENS = re.compile(r"\\.|[{}]", re.DOTALL)  # an escaped brace `\{` is not a group
_TRAILING_PERCENT = re.compile(r"\s*\\?%\s*$")


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}`, `\\boxed ...` or `\\fbox{...}`.

    None if there is none or its braces never close. `\\boxed ...` without braces
    runs to the next `$` or line end (Hendrycks' rule).
    """
    start, command = max((text.rfind(c), c) for c in _BOX_COMMANDS)
    if start < 0:
        return None
    after = start + len(command)
    brace = after
    while brace < len(text) and text[brace] in " \t":
        brace += 1
    if brace < len(text) and text[brace] == "{":
        end = _matching_brace(text, brace)
        return None if end is None else text[brace + 1 : end]
    if brace > after:
        return re.split(r"[$\n]", text[brace:], maxsplit=1)[0].strip()
    return None


def _matching_brace(text: str, open_at: int) -> int | None:
    depth = 0
    for token in _BRACE_TOKENS.finditer(text, open_at):
        if token.group() == "{":
            depth += 1
        elif token.group() == "}":
            depth -= 1
            if depth == 0:
                return token.start()
    return None


def _brace_depth(text: str) -> int:
    depth = deepest = 0
    for token in _BRACE_TOKENS.finditer(text):
        depth += {"{": 1, "}": -1}.get(token.group(), 0)
        deepest = max(deepest, depth)
    return deepest


def hendrycks_normalize(s: str) -> str:
    """Hendrycks et al.'s MATH `strip_string`, rewritten so it never raises."""
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "")
    s = s.split("\\text{ ")[0]  # in MATH, `\text{ ` (with the space) only starts units
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if s.startswith("."):
        s = "0" + s
    lhs, eq, rhs = s.partition("=")
    if eq and "=" not in rhs and len(lhs) <= 2:  # `x = 5` -> `5`
        s = rhs
    s = _fix_sqrt(s).replace(" ", "")
    s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _fix_a_slash_b(s)


def _fix_sqrt(s: str) -> str:
    """`\\sqrt2` -> `\\sqrt{2}`."""
    head, *parts = s.split("\\sqrt")
    return head + "".join(
        "\\sqrt" + (p if p.startswith("{") or not p else "{" + p[0] + "}" + p[1:]) for p in parts
    )


def _fix_fracs(s: str) -> str:
    """`\\frac12` and `\\frac1{2}` -> `\\frac{1}{2}`; a dangling `\\frac` keeps the string."""
    head, *parts = s.split("\\frac")
    out = [head]
    for p in parts:
        if p.startswith("{"):
            out.append("\\frac" + p)
        elif len(p) < 2:
            return s
        elif p[1] == "{":
            out.append("\\frac{" + p[0] + "}" + p[1:])
        else:
            out.append("\\frac{" + p[0] + "}{" + p[1] + "}" + p[2:])
    return "".join(out)


def _fix_a_slash_b(s: str) -> str:
    """`3/4` -> `\\frac{3}{4}` when both sides are integers written plainly (`-3/4` too)."""
    a, slash, b = s.partition("/")
    if not slash or "/" in b:
        return s
    try:
        plain = str(int(a)) == a and str(int(b)) == b
    except ValueError:
        return s
    return "\\frac{" + a + "}{" + b + "}" if plain else s


def _as_latex(answer: str) -> str:
    """What math-verify parses: a trailing percent sign dropped (inside `\\boxed{}` it
    would leave the answer unparsed; MATH treats it as a unit), then `\\boxed{...}`."""
    return "\\boxed{" + _TRAILING_PERCENT.sub("", answer) + "}"


GRADING_MODES = ("lighteval", "boxed")


def score(completion: str, gold: str, timeout_s: float = 5.0, grading: str = "boxed") -> Score:
    """Reward 1 when math-verify finds the completion's answer equal to `gold` (MATH `answer`)."""
    if grading == "lighteval":
        return _score_whole_completion(completion, gold, timeout_s)
    if grading != "boxed":
        raise ValueError(f"MATH grading must be one of {', '.join(GRADING_MODES)}; got {grading!r}")
    answer = last_boxed(completion)
    if answer is None or not answer.strip():
        no_answer = {"hendrycks": False, "timeout": False}
        return Score(reward=0.0, correct=False, extracted=None, extra=no_answer)
    canonical = hendrycks_normalize(answer)
    hendrycks = canonical == hendrycks_normalize(gold)
    if len(answer) > MAX_ANSWER_CHARS or _brace_depth(answer) > MAX_BRACE_DEPTH:
        verdict = math_verify_worker.Verdict(correct=False, timeout=False)
    else:
        verdict = math_verify_worker.check(_as_latex(gold), _as_latex(answer), timeout_s)
    return Score(
        reward=float(verdict.correct),
        correct=verdict.correct,
        extracted=canonical,
        extra={"hendrycks": hendrycks, "timeout": verdict.timeout},
    )


def _score_whole_completion(completion: str, gold: str, timeout_s: float) -> Score:
    verdict = math_verify_worker.check(_as_latex(gold), completion, timeout_s)
    canonical = hendrycks_normalize(verdict.answer) if verdict.answer else None
    return Score(
        reward=float(verdict.correct),
        correct=verdict.correct,
        extracted=canonical or None,
        extra={"hendrycks": canonical is not None and canonical == hendrycks_normalize(gold), "timeout": verdict.timeout},
    )
