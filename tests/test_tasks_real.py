"""Real-dataset tasks read through the real loading code from our own fixture files.

The fixtures (tests/fixtures/) are small rows we wrote in each hub schema, each
set with one malformed row; HotpotQA is parquet to cover both local formats.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from evaluators.tasks import get_task
from evaluators.tasks.loading import DatasetUnavailableError, load_rows
from evaluators.tasks.selection import select_problems

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No hub and an empty cache, as on a machine without network.

    `datasets` and `huggingface_hub` read HF_HUB_OFFLINE / HF_DATASETS_OFFLINE once,
    at import, so setting the environment here is too late on its own (a load then
    retries the network for ~25 s): the module constants they read are patched too.
    """
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))


def test_gsm8k_loads_local_jsonl_and_skips_the_malformed_row(caplog: pytest.LogCaptureFixture) -> None:
    task = get_task("gsm8k", path=str(FIXTURES / "gsm8k"))
    with caplog.at_level(logging.WARNING):
        examples = task.load("test")
    assert [e.id for e in examples] == ["test-0", "test-1", "test-2", "test-4"]
    assert [skipped_id for skipped_id, _ in task.skipped["test"]] == ["test-3"]
    assert "####" in task.skipped["test"][0][1]
    assert "test-3" in caplog.text
    assert examples[1].meta["gold"] == "150"


def test_gsm8k_demos_score_one() -> None:
    task = get_task("gsm8k", path=str(FIXTURES / "gsm8k"))
    for example in task.load("test"):
        assert task.score(task.format_demo(example), example.answer).reward == 1.0
    assert task.score("#### 7", task.load("test")[0].answer).reward == 0.0


def test_a_single_file_and_limit() -> None:
    task = get_task("gsm8k", path=str(FIXTURES / "gsm8k" / "test.jsonl"), limit=2)
    assert [e.id for e in task.load("test")] == ["test-0", "test-1"]


def test_gsm8k_few_shot_uses_the_first_train_examples() -> None:
    task = get_task("gsm8k", path=str(FIXTURES / "gsm8k"), few_shot=2)
    example = task.load("test")[0]
    prompt = task.format_prompt(example, tokenizer=None)
    train = [json.loads(line) for line in (FIXTURES / "gsm8k" / "train.jsonl").read_text().splitlines()]
    assert prompt.index(train[0]["question"]) < prompt.index(train[1]["question"]) < prompt.index(example.prompt)
    assert train[0]["answer"] in prompt
    assert prompt.endswith(f"Q: {example.prompt}\nA: ")


def test_math500_loads_and_skips_the_row_without_answer(caplog: pytest.LogCaptureFixture) -> None:
    task = get_task("math", path=str(FIXTURES / "math500"))
    with caplog.at_level(logging.WARNING):
        examples = task.load("test")
    assert len(examples) == 4
    assert task.skipped["test"] == [("test/number_theory/fixture-4.json", "missing field 'answer'")]
    assert "test/number_theory/fixture-4.json" in caplog.text
    assert examples[0].answer == "\\frac{5}{6}" and examples[0].meta["subject"] == "Prealgebra"


def test_math500_demos_score_one() -> None:
    task = get_task("math", path=str(FIXTURES / "math500"))
    for example in task.load("test"):
        assert task.score(task.format_demo(example), example.answer).reward == 1.0, example.id
    assert task.score("\\boxed{5}", "4").reward == 0.0


def test_math500_has_no_train_split_for_shots() -> None:
    with pytest.raises(ValueError, match="train split"):
        get_task("math", few_shot=1)
    with pytest.raises(ValueError, match="no split 'train'"):
        get_task("math", path=str(FIXTURES / "math500")).load("train")


def test_hendrycks_subsets_take_the_gold_from_the_last_box(tmp_path: Path) -> None:
    rows = [
        {"problem": "Compute $1+1$.", "type": "Algebra", "solution": "$\\boxed{3}$? No, $\\boxed{2}$."},
        {"problem": "Compute $2+2$.", "type": "Algebra", "solution": "It is 4."},
    ]
    (tmp_path / "algebra").mkdir()
    (tmp_path / "algebra" / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    task = get_task("math", subsets=["algebra"], path=str(tmp_path))
    [example] = task.load("test")
    assert example.answer == "2" and example.demo == rows[0]["solution"]
    assert task.skipped["test"] == [("algebra/test-1", "solution has no \\boxed{} answer")]
    with pytest.raises(ValueError, match="subsets"):
        get_task("math", subsets=["calculus"])


def _hendrycks_subjects(tmp_path: Path, rows_per_subject: int) -> Path:
    for subject in ("algebra", "geometry", "number_theory"):
        (tmp_path / subject).mkdir()
        rows = [{"problem": f"{subject} {i}", "type": subject, "solution": f"$\\boxed{{{i}}}$"} for i in range(rows_per_subject)]
        (tmp_path / subject / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return tmp_path


def test_a_partial_multi_subject_test_set_is_a_seeded_sample_across_subjects(tmp_path: Path) -> None:
    task = get_task("math", subsets=["algebra", "geometry", "number_theory"], path=str(_hendrycks_subjects(tmp_path, 10)))
    examples = task.load("test")
    assert [e.meta["subject"] for e in examples[:11]] == ["algebra"] * 10 + ["geometry"]  # concatenated by subject
    chosen = select_problems(examples, 9, seed=0)
    assert len(chosen) == 9 and {e.meta["subject"] for e in chosen} == {"algebra", "geometry", "number_theory"}
    assert chosen == select_problems(examples, 9, seed=0) != select_problems(examples, 9, seed=1)
    assert [examples.index(e) for e in chosen] == sorted(examples.index(e) for e in chosen)  # file order
    assert select_problems(examples, "all", seed=0) == examples == select_problems(examples, 500, seed=0)


def test_limit_applies_to_each_subject(tmp_path: Path) -> None:
    task = get_task("math", subsets=["algebra", "geometry", "number_theory"], path=str(_hendrycks_subjects(tmp_path, 10)), limit=2)
    assert [e.id for e in task.load("test")] == [f"{s}/test-{i}" for s in ("algebra", "geometry", "number_theory") for i in range(2)]


def test_a_single_subject_test_set_keeps_its_first_rows() -> None:
    examples = get_task("gsm8k", path=str(FIXTURES / "gsm8k")).load("test")
    assert select_problems(examples, 2, seed=0) == examples[:2]


def test_hotpotqa_maps_test_to_validation_parquet(caplog: pytest.LogCaptureFixture) -> None:
    task = get_task("hotpotqa", path=str(FIXTURES / "hotpotqa"))
    with caplog.at_level(logging.WARNING):
        examples = task.load("test")
    assert [e.id for e in examples] == ["fx-hotpot-0001", "fx-hotpot-0002"]
    assert task.skipped["test"] == [("fx-hotpot-0003", "missing field 'answer'")]
    assert "fx-hotpot-0003" in caplog.text
    first = examples[0]
    assert first.prompt.splitlines()[0] == "Old Mill Bridge: Old Mill Bridge is a stone bridge in Wales. It was built in 1790."
    assert first.prompt.endswith("\nQuestion: In which country was the painter Marla Quent born?")
    assert first.demo == (
        "She was born in Fenwick Harbor. Fenwick Harbor is a fishing town in Norway.\nAnswer: Norway"
    )
    # a supporting fact past the end of its paragraph is left out of the demo, not fatal
    assert examples[1].demo == (
        "Lake Ovin is a lake in Finland. Lake Brask is a lake in eastern Finland.\nAnswer: yes"
    )


def test_hotpotqa_demos_score_one() -> None:
    task = get_task("hotpotqa", path=str(FIXTURES / "hotpotqa"))
    for example in task.load("test"):
        assert task.score(task.format_demo(example), example.answer).reward == 1.0
    assert task.score("Answer: Sweden", "Norway").reward == 0.0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", ["gsm8k", "math", "hotpotqa"])
def test_offline_without_path_names_both_ways_out(name: str, offline: None) -> None:
    with pytest.raises(DatasetUnavailableError) as raised:
        get_task(name).load("test")
    message = str(raised.value)
    assert "dataset.path=" in message and "network access" in message
    hub_ids = {"gsm8k": "openai/gsm8k", "math": "HuggingFaceH4/MATH-500", "hotpotqa": "hotpotqa/hotpot_qa"}
    assert hub_ids[name] in message


def test_hub_path_passes_config_split_and_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub branch, with `datasets.load_dataset` stood in by an in-memory Dataset."""
    import datasets

    rows = [json.loads(line) for line in (FIXTURES / "gsm8k" / "test.jsonl").read_text().splitlines()]
    calls = []

    def fake_load_dataset(*args: object, **kwargs: object) -> datasets.Dataset:
        calls.append((args, kwargs))
        return datasets.Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    task = get_task("gsm8k", revision="abc123", limit=2)
    assert [e.id for e in task.load("test")] == ["test-0", "test-1"]
    assert calls == [(("openai/gsm8k", "main"), {"split": "test", "revision": "abc123"})]


def test_local_path_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="test.jsonl"):
        load_rows("openai/gsm8k", "main", "test", path=str(tmp_path))
    (tmp_path / "rows.csv").write_text("question,answer\n")
    with pytest.raises(ValueError, match="jsonl"):
        load_rows("openai/gsm8k", "main", "test", path=str(tmp_path / "rows.csv"))
