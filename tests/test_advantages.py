"""Outcome advantages on hand-worked groups."""

import pytest
import torch

from algorithms import ADVANTAGES


def test_grpo_advantage_hand_values():
    # group 0: rewards [1, 0, 0, 1] mean .5, unbiased std = sqrt((4 * .25) / 3) = 0.57735
    # group 1: rewards [0, 0, 0, 0] mean 0, std 0 -> advantages 0
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    groups = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    adv = ADVANTAGES.get("grpo")(rewards, groups)
    a = 0.5 / (0.5773502691896258 + 1e-6)  # 0.866024
    assert adv.tolist() == pytest.approx([a, -a, -a, a, 0, 0, 0, 0], rel=1e-5)


def test_grpo_group_of_one_gets_mean_zero_std_one():
    adv = ADVANTAGES.get("grpo")(torch.tensor([1.0, 0.0]), torch.tensor([0, 1]))
    # (1 - 0) / (1 + 1e-6), (0 - 0) / (1 + 1e-6)
    assert adv.tolist() == pytest.approx([1 / (1 + 1e-6), 0.0])


def test_dr_grpo_advantage_is_mean_centred_without_std():
    # group [1, 0, 0]: mean 1/3 -> [2/3, -1/3, -1/3]
    adv = ADVANTAGES.get("dr_grpo")(torch.tensor([1.0, 0.0, 0.0]), torch.tensor([5, 5, 5]))
    assert adv.tolist() == pytest.approx([2 / 3, -1 / 3, -1 / 3])


def test_groups_need_not_be_contiguous():
    adv = ADVANTAGES.get("dr_grpo")(torch.tensor([1.0, 0.0, 0.0, 1.0]), torch.tensor([0, 1, 0, 1]))
    # group 0 = [1, 0] mean .5; group 1 = [0, 1] mean .5
    assert adv.tolist() == pytest.approx([0.5, -0.5, -0.5, 0.5])


def test_grpo_std_of_a_group_of_two_divides_its_squares_by_one():
    """Pins the unbiased std's n - 1 = 1 for a pair (the clamp only lifts a group of one)."""
    # group [1, 0]: mean .5, squares .25 + .25 = .5, unbiased std sqrt(.5 / 1) = 0.70711
    adv = ADVANTAGES.get("grpo")(torch.tensor([1.0, 0.0]), torch.tensor([3, 3]))
    a = 0.5 / (0.5**0.5 + 1e-6)  # 0.707106
    assert adv.tolist() == pytest.approx([a, -a], rel=1e-5)
