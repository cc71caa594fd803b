"""RL and SFT post-training algorithms, registered by name.

The registries fill on their first lookup (algorithms/registry.py), so importing this
package does not import torch.
"""

from algorithms.registry import ADVANTAGES, ALGORITHMS, KL_ESTIMATORS, POLICY_LOSSES

__all__ = ["ADVANTAGES", "ALGORITHMS", "KL_ESTIMATORS", "POLICY_LOSSES"]
