"""agg_loss, the clipped surrogate and the KL estimators on hand-worked tensors."""

import math

import pytest
import torch

from algorithms import KL_ESTIMATORS, POLICY_LOSSES
from algorithms.losses import ClipSettings, agg_loss
from algorithms import registry
from algorithms.registry import Registry

# Two sequences: lengths 2 and 1 (mask), losses chosen for easy sums.
LOSS = torch.tensor([[1.0, 3.0, 100.0], [4.0, 100.0, 100.0]])
MASK = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("token_mean", (1 + 3 + 4) / 3),  # 8 / 3 tokens
        ("seq_mean_token_mean", ((1 + 3) / 2 + 4 / 1) / 2),  # (2 + 4) / 2 = 3
        ("seq_mean_token_sum", ((1 + 3) + 4) / 2),  # 8 / 2 = 4
        ("seq_mean_token_sum_norm", ((1 + 3) / 3 + 4 / 3) / 2),  # token sums / T=3, then mean = 4/3
    ],
)
def test_agg_loss_modes(mode, expected):
    assert float(agg_loss(LOSS, MASK, mode)) == pytest.approx(expected)


def test_dr_grpo_norm_uses_the_constant_length_not_the_padded_width():
    # norm_len = max_new_tokens = 4: ((1+3)/4 + 4/4) / 2 = 1.0
    assert float(agg_loss(LOSS, MASK, "seq_mean_token_sum_norm", norm_len=4.0)) == pytest.approx(1.0)


def test_micro_batches_with_global_counts_sum_to_the_full_batch_loss():
    for mode in ("token_mean", "seq_mean_token_mean", "seq_mean_token_sum", "seq_mean_token_sum_norm"):
        full = agg_loss(LOSS, MASK, mode)
        counts = dict(num_tokens=MASK.sum(), num_seqs=2.0, norm_len=3.0)
        parts = sum(agg_loss(LOSS[i : i + 1], MASK[i : i + 1], mode, **counts) for i in range(2))
        assert float(parts) == pytest.approx(float(full)), mode


def test_agg_loss_unknown_mode_lists_the_known_ones():
    with pytest.raises(ValueError, match="token_mean"):
        agg_loss(LOSS, MASK, "token_avg")


def test_clipped_surrogate_hand_values():
    clip = POLICY_LOSSES.get("clip")
    # ratios e^{log 1.5} = 1.5 and e^{log 0.5} = 0.5, eps 0.2.
    logp = torch.log(torch.tensor([[1.5, 0.5, 1.5, 0.5]]))
    old = torch.zeros(1, 4)
    adv = torch.tensor([[1.0, 1.0, -1.0, -1.0]])
    loss, clipped = clip(logp, old, adv, ClipSettings(0.2, 0.2))
    # A=+1, rho=1.5: max(-1.5, -1.2) = -1.2 (clipped)
    # A=+1, rho=0.5: max(-0.5, -0.8) = -0.5
    # A=-1, rho=1.5: max(1.5, 1.2) = 1.5
    # A=-1, rho=0.5: max(0.5, 0.8) = 0.8 (clipped)
    assert loss.tolist()[0] == pytest.approx([-1.2, -0.5, 1.5, 0.8])
    assert clipped.tolist()[0] == [1.0, 0.0, 0.0, 1.0]


def test_clip_higher_widens_only_the_upper_bound():
    clip = POLICY_LOSSES.get("clip")
    logp = torch.log(torch.tensor([[1.5, 0.5]]))
    loss, _ = clip(logp, torch.zeros(1, 2), torch.ones(1, 2), ClipSettings(0.2, 0.28))
    # rho=1.5 clipped at 1.28 -> -1.28; rho=0.5 unclipped (lower bound only binds for A<0) -> -0.5
    assert loss.tolist()[0] == pytest.approx([-1.28, -0.5])


def test_dual_clip_bounds_negative_advantage_losses():
    clip = POLICY_LOSSES.get("clip")
    logp = torch.log(torch.tensor([[5.0, 2.0, 5.0]]))
    adv = torch.tensor([[-1.0, -1.0, 1.0]])
    loss, clipped = clip(logp, torch.zeros(1, 3), adv, ClipSettings(0.2, 0.2, dual_clip=3.0))
    # A=-1, rho=5: max(5, 1.2) = 5 > c*|A| = 3 -> 3 (dual-clipped)
    # A=-1, rho=2: max(2, 1.2) = 2 < 3 -> 2
    # A=+1, rho=5: dual clip never applies to A>0: max(-5, -1.2) = -1.2
    assert loss.tolist()[0] == pytest.approx([3.0, 2.0, -1.2])
    assert clipped.tolist()[0] == [1.0, 0.0, 1.0]


def test_reinforce_loss_is_unclipped():
    loss, _ = POLICY_LOSSES.get("reinforce")(torch.log(torch.tensor([[1.5]])), torch.zeros(1, 1), torch.ones(1, 1), ClipSettings())
    assert float(loss) == pytest.approx(-1.5)


def test_kl_estimators_hand_values():
    logp = torch.tensor([math.log(0.5)])
    ref = torch.tensor([math.log(0.25)])
    d = math.log(0.25) - math.log(0.5)  # ref - logp = -log 2
    assert float(KL_ESTIMATORS.get("k1")(logp, ref)) == pytest.approx(math.log(2))  # logp - ref
    assert float(KL_ESTIMATORS.get("k2")(logp, ref)) == pytest.approx(0.5 * math.log(2) ** 2)
    assert float(KL_ESTIMATORS.get("k3")(logp, ref)) == pytest.approx(math.exp(d) - d - 1)  # 0.5 - 1 + log 2 = 0.1931
    assert float(KL_ESTIMATORS.get("k3")(ref, ref)) == 0.0


def test_k3_is_clamped():
    # d = ref - logp = 30 clamps to 20, e^20 - 21 clamps to 10.
    assert float(KL_ESTIMATORS.get("k3")(torch.tensor([0.0]), torch.tensor([30.0]))) == 10.0


def test_unknown_registry_entries_list_the_known_ones():
    with pytest.raises(KeyError, match="k1, k2, k3"):
        KL_ESTIMATORS.get("k4")


def test_a_registry_returns_what_was_registered_and_refuses_a_name_twice():
    # The real tables fill at import time, before a test runs; a fresh one exercises register itself.
    table = Registry("widget")

    def entry():
        return 1

    assert table.register("a")(entry) is entry and table.get("a") is entry
    with pytest.raises(ValueError, match="^widget 'a' is registered twice$"):
        table.register("a")(entry)
    with pytest.raises(KeyError, match="unknown widget 'b'; known: a"):
        table.get("b")


def test_token_mean_of_one_real_token_with_its_own_count_divides_by_one():
    """Pins the default token count's floor at 1: one real token is its own mean (an empty mask gives 0, not NaN)."""
    loss, mask = torch.tensor([[5.0, 100.0]]), torch.tensor([[1.0, 0.0]])
    assert float(agg_loss(loss, mask, "token_mean")) == pytest.approx(5.0)
    assert float(agg_loss(loss, torch.zeros(1, 2), "token_mean")) == 0.0


def test_the_first_lookup_imports_every_builtin_module_once(monkeypatch):
    """`load_builtins` imports each built-in module on the first lookup and never again."""
    imported: list[str] = []
    real_import = registry.importlib.import_module
    monkeypatch.setattr(registry, "_builtins_loaded", False)
    monkeypatch.setattr(registry.importlib, "import_module", lambda name: imported.append(name) or real_import(name))
    assert "grpo" in registry.ALGORITHMS.names()
    registry.POLICY_LOSSES.get("clip")
    assert imported == [f"algorithms.{m}" for m in registry.BUILTIN_MODULES]


def test_agg_loss_computes_in_the_losss_dtype_and_names_the_known_modes():
    loss = torch.tensor([[1.0, 3.0]], dtype=torch.bfloat16)
    assert agg_loss(loss, torch.ones(1, 2), "token_mean").dtype == torch.bfloat16
    with pytest.raises(ValueError, match=r"unknown loss aggregation 'mean'; known: token_mean, seq_mean_token_mean, "):
        agg_loss(loss, torch.ones(1, 2), "mean")
