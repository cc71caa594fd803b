"""DASH gradient filtering on hand-worked advantages."""

import torch

from algorithms.policy_gradient import filter_by_advantage


def test_drops_small_advantages_and_respects_keep():
    adv = torch.tensor([0.5, -0.05, 0.0, -1.2, 0.3])
    keep = torch.tensor([True, True, True, True, False])
    # |A| > 0.1: samples 0 and 3 pass; sample 4 passes the threshold but was not kept.
    assert filter_by_advantage(adv, keep, 0.1).tolist() == [True, False, False, True, False]


def test_keeps_the_largest_when_none_passes():
    adv = torch.tensor([0.02, -0.08, 0.05])
    keep = torch.tensor([True, True, False])
    # None passes 0.1; among kept samples the largest |A| is sample 1 (0.08).
    assert filter_by_advantage(adv, keep, 0.1).tolist() == [False, True, False]


def test_token_level_advantages_use_the_largest_magnitude():
    adv = torch.tensor([[0.0, 0.2], [0.05, -0.05]])
    assert filter_by_advantage(adv, torch.tensor([True, True]), 0.1).tolist() == [True, False]


def test_nothing_kept_stays_nothing():
    assert not filter_by_advantage(torch.tensor([1.0]), torch.tensor([False]), 0.1).any()


def test_an_advantage_equal_to_tau_is_dropped():
    adv = torch.tensor([0.5, -0.5, 0.75])  # exact in binary: |A| = tau is "<= tau"
    assert filter_by_advantage(adv, torch.tensor([True, True, True]), 0.5).tolist() == [False, False, True]
