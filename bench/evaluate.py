"""One evaluation pass: n samples per held-out problem -> per-problem results -> metrics."""

from __future__ import annotations

from dataclasses import dataclass

from algorithms.parallel import SINGLE, Parallel
from bench.progress import progress_bar
from bench.rollout import Engine, Sampling
from evaluators.passk import ProblemResult, summarize
from evaluators.types import Example, score_example


@dataclass(frozen=True)
class EvalResult:
    metrics: dict[str, float]  # {"pass@1": v, "pass@1_stderr": se, ...}
    samples: list[dict]  # one record per problem: completions, answers, correctness


def evaluate(
    engine: Engine, task, tokenizer, problems: list[Example], n: int, ks: list[int], sampling: Sampling, seed: int,
    parallel: Parallel = SINGLE,
) -> EvalResult:
    """Sample `n` completions per problem with a fixed seed, score them, summarise.

    The same seed and problems give the same prompts and draws (keyed by problem), so a base
    and a trained policy are compared on identical draws, and each of several processes can
    evaluate its share of the problems: gathered, the result is the one-process result.
    """
    share = parallel.span(len(problems))
    results, samples = score_problems(engine, task, tokenizer, problems[share.start : share.stop], n, sampling, seed, share.start)
    gathered = parallel.gather((results, samples))
    results, samples = [r for part, _ in gathered for r in part], [s for _, part in gathered for s in part]
    return EvalResult(summarize(results, ks), samples)


def score_problems(
    engine: Engine, task, tokenizer, problems: list[Example], n: int, sampling: Sampling, seed: int, first: int
) -> tuple[list[ProblemResult], list[dict]]:
    """Per-problem results and sample records of `problems`, the `first`-th onwards of the evaluation set."""
    if not problems:
        return [], []
    prompts = [task.format_prompt(example, tokenizer) for example in problems]
    with progress_bar(total=len(problems), desc="eval", unit="problem") as bar:

        def advance(done: int) -> None:
            bar.update(done)
            bar.set_postfix(samples_s=f"{bar.n * n / max(bar.format_dict['elapsed'], 1e-9):.0f}")

        generation = engine.generate(prompts, n, sampling, seed, on_prompts_done=advance, first_prompt=first)
    results, samples = [], []
    for j, example in enumerate(problems):
        texts = generation.texts[j * n : (j + 1) * n]
        scores = [score_example(task, text, example) for text in texts]
        result = ProblemResult(example.id, [s.correct for s in scores], [s.extracted for s in scores])
        results.append(result)
        samples.append(
            {
                "id": example.id,
                "prompt": prompts[j],
                "gold": example.answer,
                "completions": texts,
                "extracted": result.answers,
                "correct": result.correct,
                "reward": [s.reward for s in scores],
                "extra": [s.extra for s in scores],
            }
        )
    return results, samples
