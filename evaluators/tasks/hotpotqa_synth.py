"""`hotpotqa_synth`: seeded multi-hop questions over distractor facts, in HotpotQA's schema.

Rows carry HotpotQA's fields (`question`, `answer`, `supporting_facts`, `context`
as titles + sentence lists) and go through the `hotpotqa` task's row conversion
and grader. Each paragraph is one fact titled by its subject. Easy: two hops
(`Ava was born in Lyon.` `Lyon is in France.`) and two distractor paragraphs.
Sparse: the easy hops among five distractors, where the tiny base is right about
one time in sixty (pass@1 0.017, pass@64 0.36: README "The sparse-reward split").
Hard: three hops through another person (`Ava's coach is Ben.` ...) and four
distractors. Distractors always include another city's country, so the hop
that links the question to its city cannot be skipped.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any

from evaluators.grading import hotpotqa as hotpotqa_grading
from evaluators.tasks import hotpotqa as hotpotqa_task
from evaluators.tasks import register_task
from evaluators.tasks.prompting import synthetic_prompt
from evaluators.tasks.synthetic import generate_split
from evaluators.types import Example, Score

PEOPLE = [
    "Ava", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hugo", "Ines", "Jack", "Kai", "Lena", "Milo",
    "Nora", "Omar", "Pia", "Rosa", "Sam", "Tara", "Uma", "Vic", "Wes", "Yara", "Zoe",
]  # fmt: skip
COUNTRY_OF = {
    "Lyon": "France", "Oslo": "Norway", "Rome": "Italy", "Kyoto": "Japan", "Lima": "Peru",
    "Cairo": "Egypt", "Quito": "Ecuador", "Porto": "Portugal", "Graz": "Austria", "Delhi": "India",
    "Accra": "Ghana", "Dublin": "Ireland", "Hanoi": "Vietnam", "Seville": "Spain", "Munich": "Germany",
    "Krakow": "Poland", "Havana": "Cuba", "Nairobi": "Kenya", "Toronto": "Canada", "Seoul": "Korea",
}  # fmt: skip
# relation as a fact states it -> the question asked about it
RELATIONS = {
    "was born in": "In which country was {} born?",
    "lives in": "In which country does {} live?",
    "works in": "In which country does {} work?",
    "studied in": "In which country did {} study?",
}
LINKS = ["friend", "boss", "coach", "teacher", "neighbor", "partner"]  # person -> person
LEVELS = {"easy": (2, 2), "sparse": (2, 5), "hard": (3, 4)}  # (hops, distractor paragraphs)


def make_row(rng: random.Random, example_id: str, difficulty: str) -> dict[str, Any]:
    """One question in HotpotQA's schema; every title (person or city) is used once."""
    hops, distractors = LEVELS[difficulty]
    people = rng.sample(PEOPLE, 2 * distractors + 2)  # enough for the chain and two per distractor
    cities = rng.sample(list(COUNTRY_OF), distractors + 1)
    city, relation = cities.pop(), rng.choice(list(RELATIONS))
    subject = people.pop()
    support = []  # (title, sentence), in hop order
    if hops == 3:
        link, holder = rng.choice(LINKS), people.pop()
        support.append((holder, f"{holder}'s {link} is {subject}."))
        question = RELATIONS[relation].format(f"{holder}'s {link}")
    else:
        question = RELATIONS[relation].format(subject)
    support += [(subject, f"{subject} {relation} {city}."), (city, f"{city} is in {COUNTRY_OF[city]}.")]
    noise = [_city_fact(cities.pop())]
    for _ in range(distractors - 1):
        kind = rng.choice(["person", "city", "link"] if hops == 3 else ["person", "city"])
        if kind == "city":
            noise.append(_city_fact(cities.pop()))
        elif kind == "person":
            person = people.pop()
            noise.append((person, f"{person} {rng.choice(list(RELATIONS))} {cities.pop()}."))
        else:
            person, other = people.pop(), people.pop()
            noise.append((person, f"{person}'s {rng.choice(LINKS)} is {other}."))
    paragraphs = support + noise
    rng.shuffle(paragraphs)
    return {
        "id": example_id,
        "question": question,
        "answer": COUNTRY_OF[city],
        "type": "bridge",
        "level": difficulty,
        "supporting_facts": {"title": [title for title, _ in support], "sent_id": [0] * len(support)},
        "context": {
            "title": [title for title, _ in paragraphs],
            "sentences": [[text] for _, text in paragraphs],
        },
    }


def _city_fact(city: str) -> tuple[str, str]:
    return city, f"{city} is in {COUNTRY_OF[city]}."


def make_problem(rng: random.Random, example_id: str, difficulty: str) -> Example:
    example = hotpotqa_task.to_example(make_row(rng, example_id, difficulty), example_id)
    return dataclasses.replace(example, meta={**example.meta, "difficulty": difficulty})


@register_task("hotpotqa_synth")
@dataclass
class HotpotQASynth:
    """Synthetic HotpotQA twin; `difficulty` picks the easy, sparse or hard split."""

    difficulty: str = "easy"
    train_size: int = 20000
    test_size: int = 500
    seed: int = 0
    name: str = "hotpotqa_synth"
    version: str = "1"

    def load(self, split: str) -> list[Example]:
        size = self.train_size if split == "train" else self.test_size
        return generate_split(
            lambda rng, i: make_problem(rng, i, self.difficulty),
            task=self.name, difficulty=self.difficulty, difficulties=LEVELS, split=split, size=size, seed=self.seed,
        )

    def format_prompt(self, example: Example, tokenizer: Any) -> str:
        return synthetic_prompt(example.prompt, hotpotqa_grading.INSTRUCTION, tokenizer)

    def format_demo(self, example: Example) -> str:
        return example.demo or ""

    def score(self, completion: str, gold: str) -> Score:
        return hotpotqa_grading.score(completion, gold)
