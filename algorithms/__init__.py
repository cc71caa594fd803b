"""RL and SFT post-training algorithms, registered by name."""

from algorithms.losses import agg_loss
from algorithms.registry import ADVANTAGES, ALGORITHMS, KL_ESTIMATORS, POLICY_LOSSES

# Importing the modules registers their algorithms.
from algorithms import advantages, grpo, nsr, ppo, relift, sft, superrl  # noqa: E402,F401

__all__ = ["ADVANTAGES", "ALGORITHMS", "KL_ESTIMATORS", "POLICY_LOSSES", "agg_loss"]
