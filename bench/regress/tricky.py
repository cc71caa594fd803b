"""Hand-written grader inputs: the edge cases each answer convention must keep
scoring the same way (traps seen in verl's GSM8K reward, lm-eval's regexes and math-verify). (grader, completion, gold)."""

from __future__ import annotations

from typing import Any

GSM8K: list[tuple[str, Any]] = [
    ("#### 18", "#### 18"),
    ("####18", "#### 18"),
    ("#### \n18", "#### 18"),
    ("#### 18.", "#### 18"),  # verl rejects the trailing period
    ("#### $18", "#### 18"),  # and the dollar sign
    ("#### 18.0", "#### 18"),
    ("#### 007", "#### 7"),
    ("#### $1,234.", "#### 1234"),
    ("#### 12,34", "#### 1234"),
    ("#### -$5", "#### -5"),
    ("#### -0", "#### 0"),
    ("#### .5", "#### 0.5"),
    ("#### 2.50", "#### 2.5"),
    ("#### 1/2", "#### 0.5"),
    ("#### 1e3", "#### 1000"),
    ("#### 1 000", "#### 1000"),
    ("The answer is 18.", "#### 18"),  # strict abstains, flexible reads 18
    ("#### 17\n#### 18", "#### 18"),  # strict: the first ####
    ("#### 18\nWait, 20 were sold.", "#### 18"),  # flexible: the last number
    ("#### eighteen", "#### 18"),
    ("", "#### 0"),
    ("6+10=16\n16+1=17\n#### 17", "6+10=16\n16+1=17\n#### 17"),
]
MATH: list[tuple[str, Any]] = [
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("\\boxed{0.5}", "\\frac{1}{2}"),
    ("\\boxed{1/2}", "0.5"),
    ("\\boxed{\\dfrac{3}{2}}", "3/2"),
    ("\\boxed{1.5}", "\\dfrac{3}{2}"),
    ("\\boxed{-\\frac{40}{3}}", "-40/3"),
    ("\\boxed{\\frac{2}{4}}", "\\frac{1}{2}"),
    ("\\boxed{1} so \\boxed{2}", "2"),  # the last box counts (math-verify's parse takes the first)
    ("\\boxed{\\frac{1}{2}", "\\frac{1}{2}"),  # never closed: no answer
    ("\\boxed 5$ done", "5"),
    ("\\fbox{7}", "7"),
    ("\\boxed{}", "0"),
    ("\\boxed{10\\%}", "10"),
    ("\\boxed{x = 5}", "5"),
    ("\\boxed{1,000}", "1000"),
    ("\\boxed{\\sqrt{12}}", "2\\sqrt{3}"),
    ("\\boxed{(3, \\infty)}", "(3, \\infty)"),
    ("\\boxed{[3, \\infty)}", "(3, \\infty)"),
    ("\\boxed{\\{1,2\\}}", "\\{2, 1\\}"),
    ("\\boxed{\\text{(C)}}", "\\text{(C)}"),
    ("\\boxed{" + "{" * 40 + "1" + "}" * 40 + "}", "1"),  # too deep to be an answer
    ("the answer is 40/3", "40/3"),
    ("8/9*15=40/3\n\\boxed{\\frac{40}{3}}", "40/3"),
]
MATH_UNBOXED: list[tuple[str, Any]] = [  # what only whole-completion (lighteval) grading reads
    ("So the answer is $\\frac{1}{2}$.", "0.5"),
    ("The final answer is $7$. I hope it is correct.", "7"),
    ("\\boxed{5} is wrong; it is $6$.", "5"),
    ("no math here, just 42", "42"),
]
HOTPOTQA: list[tuple[str, Any]] = [
    ("Answer: Ecuador", "Ecuador"),
    ("answer: the Ecuador.", "Ecuador"),
    ("ANSWER: ecuador", "Ecuador"),
    ("Answer:\n\nEcuador", "Ecuador"),
    ("Answer: Peru\nAnswer: Ecuador", "Ecuador"),  # the first marker: Peru, wrong
    ("Rosa works in Quito. Quito is in Ecuador.\nAnswer: Ecuador", "Ecuador"),
    ("Rosa works in Quito. Quito is in Ecuador.", "Ecuador"),  # no marker: the last line
    ("Answer: ", "Ecuador"),
    ("", "Ecuador"),
    ("Answer: U.S.A.", "USA"),
    ("Answer: Yes", "yes"),
    ("Answer: yes it is", "yes"),
    ("Answer: no", "no answer"),
    ("Answer: Barack Obama", "Barack Hussein Obama"),
    ("Answer: New York", ["NYC", "New York City"]),
    ("Answer: Chicago", ["Chicago, Illinois", "Chicago"]),
]
HAND: list[tuple[str, str, Any]] = [
    *((grader, c, g) for c, g in GSM8K for grader in ("gsm8k", "gsm8k_flexible")),
    *(("math", c, g) for c, g in MATH),
    *(("math_lighteval", c, g) for c, g in [*MATH, *MATH_UNBOXED]),
    *(("hotpotqa", c, g) for c, g in HOTPOTQA),
]
