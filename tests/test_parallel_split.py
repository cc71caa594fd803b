"""Who trains which rows: `Parallel`'s span, own and micro_batches are pure functions of (rank, world), so
they are checked here in one process for several ranks and worlds; the collectives' world > 1 branches
run in tests/test_distributed.py under torchrun."""

from __future__ import annotations

import pytest
import torch

from algorithms.parallel import Parallel


def spans(count: int, world: int) -> list[range]:
    return [Parallel(rank=r, world=world).span(count) for r in range(world)]


def test_spans_of_seven_over_three_ranks_are_three_two_two():
    """7 items over 3 ranks: base 2, one extra, which rank 0 takes: [0, 3), [3, 5), [5, 7)."""
    assert spans(7, 3) == [range(0, 3), range(3, 5), range(5, 7)]
    # 10 over 4: base 2, two extras for ranks 0 and 1
    assert spans(10, 4) == [range(0, 3), range(3, 6), range(6, 8), range(8, 10)]
    # fewer items than ranks: the last ranks get empty spans that start where the items end
    assert spans(2, 3) == [range(0, 1), range(1, 2), range(2, 2)]
    assert Parallel().span(5) == range(0, 5)


@pytest.mark.parametrize("world", [1, 2, 3, 4, 5])
def test_every_ranks_span_together_cover_each_item_once(world):
    """Concatenated in rank order, the spans are range(count); sizes differ by at most one, the larger first."""
    for count in range(12):
        parts = spans(count, world)
        assert [i for part in parts for i in part] == list(range(count))
        sizes = [len(part) for part in parts]
        assert max(sizes) - min(sizes) <= 1
        assert sizes == sorted(sizes, reverse=True)


def test_without_groups_a_rank_owns_a_contiguous_span_of_rows():
    """5 rows over 2 ranks: rank 0 the first three, rank 1 the last two; one process owns them all."""
    rows = torch.arange(5) * 10
    assert Parallel(rank=0, world=2).own(rows).tolist() == [0, 10, 20]
    assert Parallel(rank=1, world=2).own(rows).tolist() == [30, 40]
    assert Parallel().own(rows).tolist() == [0, 10, 20, 30, 40]


def test_with_groups_a_rank_owns_whole_prompt_groups_of_its_span_of_sorted_groups():
    """Groups [2, 2, 0, 0, 5, 5, 0]: sorted unique [0, 2, 5], rank 0 of 2 takes groups {0, 2} (rows 0, 1, 2, 3, 6),
    rank 1 group {5} (rows 4, 5), wherever those rows sit."""
    rows = torch.arange(7) + 100
    groups = torch.tensor([2, 2, 0, 0, 5, 5, 0])
    assert Parallel(rank=0, world=2).own(rows, groups).tolist() == [100, 101, 102, 103, 106]
    assert Parallel(rank=1, world=2).own(rows, groups).tolist() == [104, 105]
    # over 3 ranks each takes one group: 0, then 2, then 5
    assert [Parallel(rank=r, world=3).own(rows, groups).tolist() for r in range(3)] == [
        [102, 103, 106], [100, 101], [104, 105],
    ]
    assert Parallel().own(rows, groups).tolist() == rows.tolist()


@pytest.mark.parametrize("world", [2, 3, 4])
def test_the_ranks_own_each_row_once_and_never_split_a_group(world):
    """Every row is owned by exactly one rank, and all of a group's rows by the same one."""
    groups = torch.tensor([3, 1, 1, 4, 3, 0, 4, 4, 1, 7])
    rows = torch.arange(len(groups))
    owned = [Parallel(rank=r, world=world).own(rows, groups) for r in range(world)]
    assert sorted(torch.cat(owned).tolist()) == rows.tolist()
    owner = {int(g): r for r, part in enumerate(owned) for g in groups[part]}
    assert all(owner[int(groups[i])] == r for r, part in enumerate(owned) for i in part.tolist())


def test_micro_batches_split_this_ranks_whole_groups_size_at_a_time():
    """Groups [0]*5 + [1]*2 over 2 ranks: rank 0 owns group 0 (rows 0-4, not the first 4 of a plain row split),
    in micro-batches of 2: [0, 1], [2, 3], [4]; rank 1 owns rows 5, 6."""
    rows = torch.arange(7)
    groups = torch.tensor([0, 0, 0, 0, 0, 1, 1])
    assert [m.tolist() for m in Parallel(rank=0, world=2).micro_batches(rows, 2, groups)] == [[0, 1], [2, 3], [4]]
    assert [m.tolist() for m in Parallel(rank=1, world=2).micro_batches(rows, 2, groups)] == [[5, 6]]
    # without groups, a contiguous span: rows 0-3 and 4-6
    assert [m.tolist() for m in Parallel(rank=0, world=2).micro_batches(rows, 2)] == [[0, 1], [2, 3]]
    assert [m.tolist() for m in Parallel().micro_batches(rows, 3)] == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_rank_that_owns_no_rows_gets_no_micro_batches():
    """One prompt group over 2 ranks: rank 0 owns all three rows, rank 1 none, so no (empty) micro-batch."""
    rows, groups = torch.arange(3), torch.tensor([4, 4, 4])
    assert [m.tolist() for m in Parallel(rank=0, world=2).micro_batches(rows, 2, groups)] == [[0, 1], [2]]
    assert Parallel(rank=1, world=2).micro_batches(rows, 2, groups) == []
    assert Parallel(rank=2, world=3).micro_batches(torch.arange(2), 4) == []


def test_gather_rows_places_a_partial_set_of_rows_and_zeros_the_rest():
    """One process, rows [2, 0] of 4 with [2, 2] values: row 2 gets [1, 2], row 0 [3, 4], rows 1 and 3 stay zero."""
    values = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = Parallel().gather_rows(torch.tensor([2, 0]), values, 4)
    assert out.dtype == torch.float32
    assert out.tolist() == [[3.0, 4.0], [0.0, 0.0], [1.0, 2.0], [0.0, 0.0]]
    # no rows at all: [num_rows, T] of zeros
    assert Parallel().gather_rows(torch.arange(0), torch.zeros((0, 3)), 2).tolist() == [[0.0] * 3] * 2
    # every row: the values as they are
    assert Parallel().gather_rows(torch.arange(2), values, 2).tolist() == values.tolist()


def test_one_process_broadcasts_its_own_object_and_waits_for_no_one():
    """With no process group at all, world 1 must not reach torch.distributed."""
    obj = {"step": 3}
    assert Parallel().broadcast(obj) is obj
    assert Parallel().barrier() is None
