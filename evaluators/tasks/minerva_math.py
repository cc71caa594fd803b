"""lm-eval's `minerva_math` prompt: 4 fixed exemplars, `Problem:`/`Solution:`, a closing final-answer line.

Follows lm-evaluation-harness 0.4.13, `lm_eval/tasks/minerva_math/utils.py`
(`doc_to_text`, `list_fewshot_samples`, `get_unnormalized_answer`) and
`minerva_math_algebra.yaml` (first_n sampler, 4 shots, target delimiter " ",
fewshot delimiter "\\n\\n", stop `Problem:`); the exemplars are those of
Lewkowycz et al. 2022 (Minerva), appendix D. `minerva_math500` is the same
prompt on MATH-500.
"""

from __future__ import annotations

import re

from evaluators.grading import math as math_grading
from evaluators.tasks.presets import FEWSHOT_DELIMITER, TARGET_DELIMITER
from evaluators.types import Example, Score


# utils.list_fewshot_samples(): (problem, solution), verbatim.
EXEMPLARS: tuple[tuple[str, str], ...] = (
    (
        "Find the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.",
        "The expressions inside each square root must be non-negative. Therefore, $x-2 \\ge 0$, so $x\\ge2$, and $5 - x \\ge 0$, so $x \\le 5$. Also, the denominator cannot be equal to zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is $\\boxed{[2,5)}$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.",
    ),
    (
        "If $\\det \\mathbf{A} = 2$ and $\\det \\mathbf{B} = 12,$ then find $\\det (\\mathbf{A} \\mathbf{B}).$",
        "We have that $\\det (\\mathbf{A} \\mathbf{B}) = (\\det \\mathbf{A})(\\det \\mathbf{B}) = (2)(12) = \\boxed{24}.$\nFinal Answer: The final answer is $24$. I hope it is correct.",
    ),
    (
        "Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights instead, how many times must Terrell lift them in order to lift the same total weight?",
        "If Terrell lifts two 20-pound weights 12 times, he lifts a total of $2\\cdot 12\\cdot20=480$ pounds of weight.  If he lifts two 15-pound weights instead for $n$ times, he will lift a total of $2\\cdot15\\cdot n=30n$ pounds of weight.  Equating this to 480 pounds, we can solve for $n$:\n\\begin{align*}\n30n&=480\\\\\n\\Rightarrow\\qquad n&=480/30=\\boxed{16}\n\\end{align*}\nFinal Answer: The final answer is $16$. I hope it is correct.",
    ),
    (
        "If the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\\\n6y-9x &=b.\n\\end{align*}has a solution $(x, y)$ where $x$ and $y$ are both nonzero,\nfind $\\frac{a}{b},$ assuming $b$ is nonzero.",
        "If we multiply the first equation by $-\\frac{3}{2}$, we obtain\n\n$$6y-9x=-\\frac{3}{2}a.$$Since we also know that $6y-9x=b$, we have\n\n$$-\\frac{3}{2}a=b\\Rightarrow\\frac{a}{b}=\\boxed{-\\frac{2}{3}}.$$\nFinal Answer: The final answer is $-\\frac{2}{3}$. I hope it is correct.",
    ),
)
_END = "I hope it is correct."
# utils.get_unnormalized_answer, verbatim: the text appended, then the first final-answer line.
_FINAL_ANSWER = re.compile(r"Final Answer: The final answer is(.*?). I hope it is correct.")


def problem_text(problem: str) -> str:
    return "Problem:" + "\n" + problem + "\n\n" + "Solution:"


def minerva_prompt(problem: str) -> str:
    shots = "".join(f"{problem_text(p)}{TARGET_DELIMITER}{s}{FEWSHOT_DELIMITER}" for p, s in EXEMPLARS)
    return shots + problem_text(problem)


def minerva_demo(example: Example) -> str:
    """A MATH solution as the exemplars end theirs: the final-answer line the scorer reads."""
    return f"{TARGET_DELIMITER}{example.demo or ''}\nFinal Answer: The final answer is ${example.answer}$. {_END}"


def final_answer(completion: str) -> str | None:
    """The answer of Minerva's closing line, its `$` delimiters removed; None without that line."""
    match = _FINAL_ANSWER.search(completion + _END)
    if match is None:
        return None
    answer = match.group(1).strip()
    if len(answer) >= 2 and answer.startswith("$") and answer.endswith("$"):
        answer = answer[1:-1].strip()
    return answer or None


def minerva_score(completion: str, gold: str) -> Score:
    """math-verify on the final-answer line's answer; without that line, on the last `\\boxed{}` (the exemplars box it too).

    lm-eval's `exact_match` reads only the line; its `math_verify` column parses the
    whole completion, which finds the box.
    """
    answer = final_answer(completion)
    return math_grading.score(completion if answer is None else "\\boxed{" + answer + "}", gold)
