"""Tasks, graders and sample-based metrics.

Stable public API:
    from evaluators import pass_at_k, maj_at_k, get_task
    pass_at_k(n, c, k) -> float
    get_task(name, **options).score(completion, gold) -> Score(reward, correct, extracted)
`gold` is the dataset's answer field as stored (GSM8K `answer` with `####`, MATH
`answer`, HotpotQA `answer`).
"""

from evaluators.majority import maj_at_k
from evaluators.passk import pass_at_k
from evaluators.tasks import get_task, task_names
from evaluators.types import Example, Score, Task

__all__ = ["Example", "Score", "Task", "get_task", "maj_at_k", "pass_at_k", "task_names"]
