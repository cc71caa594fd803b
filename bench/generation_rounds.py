"""One step's rollouts, in as many generation rounds as dynamic sampling needs.

Round 0 is the step's ordinary generation. With `dynamic_sampling`, groups whose rewards
are all equal are dropped and further rounds draw fresh prompts until
`rollout.prompts_per_step` groups are kept or `max_generation_rounds` is reached (see
algorithms/group_sampling.py for the rules and their departures from verl). Each round's
sampling seed is keyed by (seed, step, round), so the extra rounds are reproducible.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, fields, replace

import torch
from omegaconf import DictConfig, OmegaConf

from algorithms.batch import RolloutBatch, SequenceBatch
from algorithms.group_sampling import GroupSampling, overlong_shaping, zero_variance_groups
from bench.rollout import Sampling
from bench.rollout.types import pad_and_cat
from bench.sampler import PromptSampler
from bench.scoring import score_generation
from bench.session import Session
from evaluators.types import Example


def group_sampling(cfg: DictConfig) -> GroupSampling:
    """The run's DAPO sampling options: those of its algorithm config, or all off where it has none (SFT)."""
    config = OmegaConf.to_object(cfg.algorithm)
    if not isinstance(config, GroupSampling):
        return GroupSampling()
    return GroupSampling(**{f.name: getattr(config, f.name) for f in fields(GroupSampling)})


def round_seed(seed: int, step: int, round_index: int) -> int:
    """Round 0 keeps the seed a step always had; later rounds hash (seed, step, round) to a fresh one."""
    if round_index == 0:
        return seed * 1_000_003 + step
    return int.from_bytes(hashlib.sha256(f"{seed}/{step}/{round_index}".encode()).digest()[:7], "big")


def select_groups(batch: RolloutBatch, groups: list[int], n: int) -> RolloutBatch:
    """The rollouts of `groups` (prompt indices), renumbered 0.. in that order."""
    rows = torch.tensor([g * n + i for g in groups for i in range(n)], dtype=torch.long, device=batch.rewards.device)
    return replace(
        batch,
        sequences=batch.sequences.select(rows),
        sample_logprobs=batch.sample_logprobs[rows],
        rewards=batch.rewards[rows],
        correct=batch.correct[rows],
        group_ids=torch.arange(len(groups), device=rows.device).repeat_interleave(n),
        examples=[batch.examples[g] for g in groups],
        completions=[batch.completions[int(r)] for r in rows],
        truncated=batch.truncated[rows],
    )


def concat_rollouts(batches: list[RolloutBatch], n: int, pad_id: int) -> RolloutBatch:
    """Rollouts of several rounds as one batch: prompts re-left-padded, completions re-right-padded."""
    if len(batches) == 1:
        return batches[0]
    seqs = [b.sequences for b in batches]
    prompts = [s.input_ids[:, : s.target_start] for s in seqs]
    sequences = SequenceBatch(
        input_ids=torch.cat([pad_and_cat(prompts, pad_id, left=True), pad_and_cat([b.completion_ids for b in batches], pad_id)], 1),
        attention_mask=torch.cat(
            [
                pad_and_cat([s.attention_mask[:, : s.target_start] for s in seqs], 0, left=True),
                pad_and_cat([s.attention_mask[:, s.target_start :] for s in seqs], 0),
            ],
            1,
        ),
        target_start=max(p.shape[1] for p in prompts),
        target_mask=pad_and_cat([s.target_mask for s in seqs], 0),
    )
    examples = [e for b in batches for e in b.examples]
    return RolloutBatch(
        sequences=sequences,
        sample_logprobs=pad_and_cat([b.sample_logprobs for b in batches], 0),
        rewards=torch.cat([b.rewards for b in batches]),
        correct=torch.cat([b.correct for b in batches]),
        group_ids=torch.arange(len(examples), device=sequences.input_ids.device).repeat_interleave(n),
        examples=examples,
        completions=[c for b in batches for c in b.completions],
        truncated=torch.cat([b.truncated for b in batches]),
    )


@dataclass
class GroupGenerator:
    session: Session
    sampler: PromptSampler
    sampling: Sampling  # rollout sampling
    options: GroupSampling

    def generate(self, step: int) -> tuple[list[Example], RolloutBatch, dict[str, float]]:
        """The step's examples and scored rollouts (shaped and masked as configured), and rollout metrics."""
        session, rollout, options = self.session, self.session.cfg.rollout, self.options
        # DASH preemptive sampling: the whole round in one call; otherwise one call per micro-batch, as TRL.
        call_size = None if rollout.preemptive else session.cfg.train.micro_batch_size
        wanted, kept, generated = rollout.prompts_per_step, [], []
        timing = {"time/generate": 0.0, "time/score": 0.0}
        rounds = options.max_generation_rounds if options.dynamic_sampling else 1
        for round_index in range(rounds):
            started = time.perf_counter()
            examples = self.sampler.next(wanted)  # every process draws the same prompts and generates its share
            share = session.parallel.span(len(examples))
            prompts = [session.task.format_prompt(e, session.tokenizer) for e in examples[share.start : share.stop]]
            seed = round_seed(session.cfg.seed, step, round_index)
            generation = session.engine.generate(
                prompts, rollout.n, self.sampling, seed=seed, batch_size=call_size, first_prompt=share.start
            )
            scored_at = time.perf_counter()
            batch = self.gathered(score_generation(session.task, generation, examples[share.start : share.stop], rollout.n))
            timing["time/generate"] += scored_at - started
            timing["time/score"] += time.perf_counter() - scored_at
            generated.append(batch)
            if options.dynamic_sampling:
                mixed = (~zero_variance_groups(batch.rewards, rollout.n)).nonzero().squeeze(-1).tolist()
                kept.append(select_groups(batch, mixed[: wanted - sum(len(k.examples) for k in kept)], rollout.n))
                if sum(len(k.examples) for k in kept) == wanted:
                    break
        trained = [k for k in kept if k.examples] or generated[-1:]
        rollouts = concat_rollouts(trained, rollout.n, session.tokenizer.pad_token_id)
        every = concat_rollouts(generated, rollout.n, session.tokenizer.pad_token_id)
        metrics = {
            "rollout/reward_mean": float(every.rewards.mean()),
            "rollout/correct_mean": float(every.correct.float().mean()),
            "rollout/response_len": float(every.mask.sum(-1).mean()),
            "rollout/truncated_frac": float(every.truncated.float().mean()),
            "rollout/tokens_per_s": float(every.mask.sum()) / max(timing["time/generate"], 1e-9),
            "rollout/zero_variance_groups": float(zero_variance_groups(every.rewards, rollout.n).sum()),
            "rollout/generation_rounds": float(len(generated)),
            "train/zero_variance_groups": float(zero_variance_groups(rollouts.rewards, rollout.n).sum()),
            **timing,
        }
        rollouts, shaping = self.shape(rollouts)
        return rollouts.examples, rollouts, metrics | shaping

    def gathered(self, batch: RolloutBatch) -> RolloutBatch:
        """The whole round's rollouts, from every process's share, on every process (in prompt order)."""
        parallel = self.session.parallel
        if parallel.world == 1:
            return batch
        shares = parallel.gather(batch.to("cpu"))
        return concat_rollouts(shares, self.session.cfg.rollout.n, self.session.tokenizer.pad_token_id).to(self.session.device)

    def shape(self, batch: RolloutBatch) -> tuple[RolloutBatch, dict[str, float]]:
        """Overlong reward shaping and overlong filtering, where configured."""
        options, max_len = self.options, self.sampling.max_new_tokens
        metrics = {}
        cut = batch.truncated
        if options.overlong_buffer > 0:
            penalty = overlong_shaping(batch.mask.sum(-1), max_len, options.overlong_buffer, options.overlong_penalty)
            batch = replace(batch, rewards=batch.rewards + penalty)
            metrics["rollout/overlong_penalty_mean"] = float(penalty.mean())
        if options.overlong_filter:
            batch = replace(batch, sequences=replace(batch.sequences, target_mask=batch.mask * (~cut).unsqueeze(-1)))
            metrics["train/truncated_masked"] = float(cut.sum())
        return batch, metrics
