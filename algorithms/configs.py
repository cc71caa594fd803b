"""Every algorithm's knobs (the `algorithm.*` schemas), free of torch.

Composing a config, `--cfg job` and `--help` read only these dataclasses, so they
stay here, apart from the training code that imports torch; each algorithm module
re-exports its own config. The comment after a field is its `--help` description.
"""

from __future__ import annotations

from dataclasses import dataclass


# algorithms/group_sampling.py
@dataclass
class GroupSampling:
    dynamic_sampling: bool = False  # DAPO: drop groups whose rewards are all equal, generate more prompts until the batch is full
    max_generation_rounds: int = 10  # dynamic sampling: generation rounds per step at most (verl's max_num_gen_batches)
    overlong_buffer: int = 0  # DAPO overlong shaping: linear penalty over the last this many tokens before max_new_tokens (0 = off)
    overlong_penalty: float = 1.0  # reward lost by a completion that reaches max_new_tokens (DAPO: 1.0)
    overlong_filter: bool = False  # DAPO overlong filtering: truncated completions (no stop token or string) carry no loss

# algorithms/grpo.py
@dataclass
class GRPOConfig(GroupSampling):  # + DAPO's dynamic sampling and overlong options
    name: str = "grpo"  # the registered algorithm this config trains
    norm_adv_by_std: bool = True  # false = Dr. GRPO advantages r - mean
    eps_low: float = 0.2  # clip ratio floor 1 - eps_low
    eps_high: float = 0.2  # clip ratio ceiling 1 + eps_high (0.28 = DAPO)
    dual_clip: float | None = None  # dual-clip constant c for A < 0 (3.0 in verl), null = off
    loss_agg: str = "token_mean"  # token_mean | seq_mean_token_mean | seq_mean_token_sum | seq_mean_token_sum_norm
    kl_coef: float = 0.001  # weight of the KL loss to the initial policy (0 = no reference model)
    kl_type: str = "k3"  # k1 | k2 | k3
    entropy_coef: float = 0.0  # entropy bonus weight
    ppo_epochs: int = 1  # passes over each rollout batch

# algorithms/nsr.py
@dataclass
class PSRConfig(GroupSampling):  # + DAPO's dynamic sampling and overlong options
    name: str = "psr"  # the registered algorithm this config trains
    eps_low: float = 0.2  # clip ratio floor 1 - eps_low
    eps_high: float = 0.2  # clip ratio ceiling 1 + eps_high
    dual_clip: float | None = None  # dual-clip constant c for A < 0 (3.0 in verl), null = off
    loss_agg: str = "token_mean"  # how token losses become one scalar (see algorithms/losses.py)
    kl_coef: float = 0.0  # weight of the KL loss to the initial policy (the paper: none)
    kl_type: str = "k3"  # k1 | k2 | k3
    entropy_coef: float = 0.001  # entropy bonus weight
    ppo_epochs: int = 1  # passes over each rollout batch


@dataclass
class NSRConfig(PSRConfig):
    name: str = "nsr"  # the registered algorithm this config trains


@dataclass
class WReinforceConfig(PSRConfig):
    name: str = "w_reinforce"  # the registered algorithm this config trains
    lam: float = 0.1  # advantage of correct samples (incorrect ones get -1)

# algorithms/ppo.py
@dataclass
class PPOConfig:
    name: str = "ppo"  # the registered algorithm this config trains
    critic: str = "separate"  # separate = policy transformer copy + value head | head = value head on the policy's transformer
    critic_lr_mult: float = 10.0  # critic lr = this x train.lr (verl: 1e-5 vs 1e-6)
    gamma: float = 1.0  # GAE discount
    lam: float = 1.0  # GAE lambda
    value_clip: float = 0.5  # new values are clipped to V_old +- this in the value loss
    vf_coef: float = 1.0  # weight of the value loss; with critic=head it trades off against the policy loss on the shared trunk
    kl_coef: float = 0.001  # weight of the KL penalty subtracted from token rewards (0 = no reference model)
    kl_type: str = "k1"  # estimator of the in-reward KL: k1 | k2 | k3
    eps_low: float = 0.2  # clip ratio floor 1 - eps_low
    eps_high: float = 0.2  # clip ratio ceiling 1 + eps_high
    dual_clip: float | None = None  # dual-clip constant c for A < 0 (3.0 in verl), null = off
    loss_agg: str = "token_mean"  # policy-loss aggregation (see algorithms/losses.py); the value loss is always token_mean
    entropy_coef: float = 0.0  # entropy bonus weight
    ppo_epochs: int = 1  # passes over each rollout batch (policy and critic)

# algorithms/relift.py
@dataclass
class ReLIFTConfig(GroupSampling):  # + DAPO's dynamic sampling and overlong options
    name: str = "relift"  # the registered algorithm this config trains
    policy_loss: str = "reinforce"  # reinforce = -A*ratio unclipped (the reference main script) | clip = PPO clip
    eps_low: float = 0.2  # clip ratio floor 1 - eps_low (policy_loss=clip)
    eps_high: float = 0.2  # clip ratio ceiling 1 + eps_high (policy_loss=clip)
    dual_clip: float | None = None  # dual-clip constant c for A < 0 (policy_loss=clip), null = off
    loss_agg: str = "seq_mean_token_sum_norm"  # token sums / max_new_tokens, mean over sequences (Dr. GRPO)
    kl_coef: float = 0.0  # weight of the KL loss to the initial policy (the paper: none)
    kl_type: str = "k3"  # k1 | k2 | k3
    entropy_coef: float = 0.001  # entropy bonus weight of the RL loss (reference train.sh)
    ppo_epochs: int = 1  # passes over each rollout batch
    grad_clip: float | None = 0.7  # max grad norm of the RL step (reference train.sh; null = train.grad_clip)
    weight_decay: float | None = 0.01  # AdamW weight decay of the RL optimizer (reference fsdp_worker.py; null = train.weight_decay)
    sft_batch: int = 32  # hardest questions per SFT step; the step runs once the buffer holds this many (paper: 128)
    sft_lr: float | None = None  # lr of the SFT AdamW (null = train.lr; the paper uses 1e-6 for both)
    sft_weight_decay: float = 0.01  # weight decay of the SFT AdamW
    sft_grad_clip: float = 1.0  # max grad norm of the SFT step
    sft_entropy_coef: float = 0.001  # SFT loss = token-mean NLL - this x entropy

# algorithms/sft.py
@dataclass
class SFTConfig:
    name: str = "sft"  # the registered algorithm this config trains
    entropy_coef: float = 0.0  # ReLIFT subtracts 0.001 * entropy from its SFT loss

# algorithms/superrl.py
@dataclass
class SuperRLConfig(GroupSampling):  # + DAPO's dynamic sampling and overlong options
    name: str = "superrl"  # the registered algorithm this config trains
    dense_threshold: float = 0.5  # probe: dense (plain GRPO) if at least this fraction of prompts has a rewarded rollout
    sft_coef: float = 1.0  # lambda in L = L_PG + lambda * L_SFT (sparse branch)
    norm_adv_by_std: bool = True  # false = Dr. GRPO advantages r - mean
    eps_low: float = 0.2  # clip ratio floor 1 - eps_low
    eps_high: float = 0.2  # clip ratio ceiling 1 + eps_high
    dual_clip: float | None = None  # dual-clip constant c for A < 0 (3.0 in verl), null = off
    loss_agg: str = "token_mean"  # how token losses become one scalar (see algorithms/losses.py)
    kl_coef: float = 0.001  # weight of the KL loss to the initial policy (0 = no reference model)
    kl_type: str = "k3"  # k1 | k2 | k3
    entropy_coef: float = 0.0  # entropy bonus weight
    ppo_epochs: int = 1  # passes over each rollout batch
