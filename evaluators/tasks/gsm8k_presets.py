"""lm-eval's two GSM8K prompts: `gsm8k` (5-shot `Question:`/`Answer:`) and `gsm8k_cot` (8-shot `Q:`/`A:`).

Both follow lm-evaluation-harness 0.4.13: `lm_eval/tasks/gsm8k/gsm8k.yaml` and
`gsm8k-cot.yaml` for the text, `ConfigurableTask.fewshot_context` and
`build_qa_turn` (`lm_eval/api/task.py`) for how shots are joined (question,
target delimiter " ", target, fewshot delimiter "\\n\\n"), and
`ContextSampler.sample` (`lm_eval/api/samplers.py`) for which train rows `gsm8k`
shows: one `random.Random(1234)` (the evaluator's default `fewshot_random_seed`)
draws `sample(train, 5)` once per test document, in test-split order.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from evaluators.grading import gsm8k as gsm8k_grading
from evaluators.tasks.presets import FEWSHOT_DELIMITER, TARGET_DELIMITER
from evaluators.types import Example, Score

FEWSHOT_SEED = 1234  # lm_eval.defaults.DEFAULT_OTHER_SEED, what simple_evaluate seeds every sampler with
FIVE_SHOT = 5

# gsm8k-cot.yaml fewshot_config.samples (the chain-of-thought exemplars of Wei et al. 2022), verbatim.
COT_EXEMPLARS: tuple[tuple[str, str], ...] = (
    (
        "There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?",
        "There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The answer is 6.",
    ),
    (
        "If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?",
        "There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.",
    ),
    (
        "Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have left in total?",
        "Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. After eating 35, they had 74 - 35 = 39. The answer is 39.",
    ),
    (
        "Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many lollipops did Jason give to Denny?",
        "Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny 20 - 12 = 8. The answer is 8.",
    ),
    (
        "Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys does he have now?",
        "Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more toys. 5 + 4 = 9. The answer is 9.",
    ),
    (
        "There were nine computers in the server room. Five more computers were installed each day, from monday to thursday. How many computers are now in the server room?",
        "There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4 = 20 computers were added. 9 + 20 is 29. The answer is 29.",
    ),
    (
        "Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. How many golf balls did he have at the end of wednesday?",
        "Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After losing 2 more, he had 35 - 2 = 33 golf balls. The answer is 33.",
    ),
    (
        "Olivia has $23. She bought five bagels for $3 each. How much money does she have left?",
        "Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 - 15 dollars left. 23 - 15 is 8. The answer is 8.",
    ),
)
# gsm8k-cot.yaml strict-match filter, verbatim (`take_first`): the first "The answer is N".
_COT_STRICT = re.compile(r"The answer is (\-?[0-9\.\,]+).")


def question_answer_prompt(shots: Sequence[tuple[str, str]], question: str) -> str:
    """lm-eval `gsm8k`: `Question: q\\nAnswer: a` shots, then `Question: q\\nAnswer:`."""
    rendered = "".join(f"Question: {q}\nAnswer:{TARGET_DELIMITER}{a}{FEWSHOT_DELIMITER}" for q, a in shots)
    return f"{rendered}Question: {question}\nAnswer:"


def cot_prompt(question: str) -> str:
    """lm-eval `gsm8k_cot`: the 8 exemplars as `Q: q\\nA: a`, then `Q: q\\nA:`."""
    rendered = "".join(f"Q: {q}\nA:{TARGET_DELIMITER}{a}{FEWSHOT_DELIMITER}" for q, a in COT_EXEMPLARS)
    return f"{rendered}Q: {question}\nA:"


class ShotDraws:
    """The train rows lm-eval's seeded sampler shows before each document of one split.

    Draw i is the i-th `rnd.sample` of one `Random(1234)`, so it depends only on the
    document's index (lm-eval's doc order; `--limit` keeps a prefix). `Random.sample`
    picks positions from the pool's length alone, so drawing positions equals
    drawing rows. For documents of the pool's own split (training prompts),
    lm-eval's rule when shots and documents share a split applies: draw n + 1 and
    drop every row equal to the document, redrawing from the rest if that leaves
    too few.
    """

    def __init__(self, pool: Sequence[dict], shots: int, same_split: bool) -> None:
        if len(pool) < shots + same_split:
            raise ValueError(f"gsm8k {shots}-shot needs at least {shots + same_split} train rows to draw from, got {len(pool)}")
        self.pool, self.shots, self.same_split = pool, shots, same_split
        self._rnd = random.Random(FEWSHOT_SEED)
        self._draws: list[list[int]] = []

    def for_document(self, index: int) -> list[int]:
        """Pool positions of the shots before document `index`, in the order shown."""
        while len(self._draws) <= index:
            self._draws.append(self._next(len(self._draws)))
        return self._draws[index]

    def _next(self, document: int) -> list[int]:
        positions = range(len(self.pool))
        if not self.same_split:
            return self._rnd.sample(positions, self.shots)
        doc = self.pool[document]
        kept = [i for i in self._rnd.sample(positions, self.shots + 1) if self.pool[i] != doc][: self.shots]
        if len(kept) < self.shots:
            kept = self._rnd.sample([i for i in positions if self.pool[i] != doc], self.shots)
        return kept


def cot_demo(example: Example) -> str:
    """A GSM8K solution in `gsm8k_cot`'s answer form: its reasoning, then `The answer is N.`"""
    reasoning = (example.demo or "").split("####")[0].strip()
    gold = gsm8k_grading.gold_number(example.answer)
    return f"{TARGET_DELIMITER}{reasoning} The answer is {gold}."


def extract_cot(completion: str) -> str | None:
    match = _COT_STRICT.search(completion)
    return gsm8k_grading.canonical_number(match.group(1)) if match else None


def cot_score(completion: str, gold: str, mode: str = "strict") -> Score:
    """As `gsm8k_grading.score`, with `gsm8k_cot`'s strict match (`The answer is N`) in place of `#### N`."""
    if mode not in ("strict", "flexible"):
        raise ValueError(f"GSM8K match mode must be 'strict' or 'flexible', got {mode!r}")
    target = gsm8k_grading.gold_number(gold)
    strict, flexible = extract_cot(completion), gsm8k_grading.extract_flexible(completion)
    extracted = strict if mode == "strict" else flexible
    correct = gsm8k_grading.numbers_equal(extracted, target)
    return Score(
        reward=float(correct),
        correct=correct,
        extracted=extracted,
        extra={"strict": gsm8k_grading.numbers_equal(strict, target), "flexible": gsm8k_grading.numbers_equal(flexible, target)},
    )
