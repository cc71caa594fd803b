"""Rollouts with a transformers model: CPU or GPU.

Two paths over the same model and the same sampling distribution:
- `share_prefix=True` (default): each prompt is prefilled once for its n samples,
  then decoded token by token with our sampler, stopping as soon as every sequence
  has finished. For n samples per prompt this saves (n-1)/n of the prompt compute;
  decode attention reads the prompt's keys once for all n (bench/rollout/prefix_attention.py)
  where the model's attention allows, else from a cache that repeats them.
- `share_prefix=False`: plain `model.generate` on n copies of each prompt, the
  reference the fast path is measured and tested against.
The fast path draws each prompt's samples from its own seeded generator (bench/rollout/sampling.py),
so a prompt samples alike whatever batch, chunk or process it is generated in; `model.generate`
samples inside a forked RNG. Neither disturbs the training RNG stream.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from algorithms.kv_cache_name import cache_kwargs, output_cache
from algorithms.logprobs import position_ids
from bench.rollout.kv_cache import preallocated_cache
from bench.rollout.prefix_attention import decoding_with_shared_prefix, shared_prefix_cache, supports_shared_prefix
from bench.rollout.sampling import prompt_uniforms, sample_tokens
from algorithms.precision import compute_autocast, compute_dtype
from algorithms.stops import Stops, length_mask, stop_token_ids
from bench.rollout.types import Generation, Sampling, pad_and_cat


class HFEngine:
    def __init__(
        self, model: torch.nn.Module, tokenizer, device: torch.device, batch_size: int, share_prefix: bool = True,
        kv_cache_mib: float | None = None,
    ) -> None:
        """`kv_cache_mib` caps the KV cache of one call (prompt + max_new_tokens for every sequence):
        calls then take fewer prompts; None leaves `batch_size` the only cap."""
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.batch_size, self.share_prefix, self.kv_cache_mib = batch_size, share_prefix, kv_cache_mib
        self.stop_ids = stop_token_ids(tokenizer, getattr(model, "generation_config", None))

    def sync_weights(self, model: torch.nn.Module) -> None:
        """Colocated: the engine samples from the training module itself."""
        self.model = model

    @torch.no_grad()
    def generate(
        self, prompts: list[str], n: int, sampling: Sampling, seed: int, batch_size: int | None = None,
        on_prompts_done: Callable[[int], None] | None = None, first_prompt: int = 0,
    ) -> Generation:
        """`batch_size` (default: the engine's) caps the sequences sampled together per call;
        `first_prompt` is the index of `prompts[0]` in the whole set the seed is for (a process's slice)."""
        per_chunk = max(1, (batch_size or self.batch_size) // n)  # prompts per call
        if self.kv_cache_mib is not None:
            per_chunk = min(per_chunk, self._prompts_within_kv_budget(prompts, n, sampling.max_new_tokens))
        starts = range(0, len(prompts), per_chunk)
        stops = Stops(self.stop_ids, tuple(sampling.stop))
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []), compute_autocast(self.model):
                torch.manual_seed(seed)
                parts = []
                for start in starts:
                    chunk = prompts[start : start + per_chunk]
                    if self.share_prefix:
                        indices = range(first_prompt + start, first_prompt + start + len(chunk))
                        uniforms = prompt_uniforms(seed, indices, n, sampling.max_new_tokens, self.device)
                        parts.append(self._sample_shared(chunk, n, sampling, stops, uniforms))
                    else:
                        parts.append(self._sample_generate(chunk, n, sampling, stops))
                    if on_prompts_done is not None:
                        on_prompts_done(len(chunk))
        finally:
            self.model.train(was_training)
        pad = self.tokenizer.pad_token_id
        completion_ids = pad_and_cat([p[2] for p in parts], pad)
        lengths = torch.cat([p[4] for p in parts])
        mask = length_mask(lengths, completion_ids.shape[1])
        return Generation(
            prompt_ids=pad_and_cat([p[0] for p in parts], pad, left=True),
            prompt_mask=pad_and_cat([p[1] for p in parts], 0, left=True),
            completion_ids=completion_ids.masked_fill(mask == 0, pad),
            completion_mask=mask,
            logprobs=pad_and_cat([p[3] for p in parts], 0.0) * mask,
            texts=stops.texts(completion_ids, lengths, self.tokenizer),
            truncated=torch.cat([p[5] for p in parts]),
        )

    def _prompts_within_kv_budget(self, prompts: list[str], n: int, max_new_tokens: int) -> int:
        """Prompts whose keys and values fit in kv_cache_mib (at least 1): the longest prompt once and
        max_new_tokens per sample under shared-prefix attention, else the two per sample."""
        config = self.model.config
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
        element = torch.empty(0, dtype=compute_dtype(self.model)).element_size()
        longest = max(len(ids) for ids in self.tokenizer(prompts, add_special_tokens=False)["input_ids"])
        positions = longest + n * max_new_tokens if supports_shared_prefix(self.model) else n * (longest + max_new_tokens)
        per_prompt = 2 * config.num_hidden_layers * kv_heads * head_dim * element * positions
        return max(1, int(self.kv_cache_mib * 2**20 // per_prompt))

    def _encode(self, prompts: list[str]):
        return self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)

    def _sample_shared(self, prompts: list[str], n: int, sampling: Sampling, stops: Stops, uniforms: Tensor) -> tuple[Tensor, ...]:
        encoded = self._encode(prompts)
        prompt_ids, prompt_mask = encoded["input_ids"], encoded["attention_mask"]
        positions = position_ids(prompt_mask)
        out = self.model(input_ids=prompt_ids, attention_mask=prompt_mask, position_ids=positions, use_cache=True, logits_to_keep=1)
        shared = supports_shared_prefix(self.model)
        if shared:
            cache = shared_prefix_cache(output_cache(out), prompt_mask, n, sampling.max_new_tokens)
        else:
            cache = preallocated_cache(output_cache(out), n, prompt_ids.shape[1] + sampling.max_new_tokens)
        logits = out.logits[:, -1].repeat_interleave(n, 0)
        rows = logits.shape[0]
        attention = None  # the repeated cache's attention mask; the shared one masks the prompt's padding itself
        if not shared:
            attention = torch.zeros(rows, prompt_ids.shape[1] + sampling.max_new_tokens, dtype=torch.long, device=self.device)
            attention[:, : prompt_ids.shape[1]] = prompt_mask.repeat_interleave(n, 0)
        next_position = positions[:, -1:].repeat_interleave(n, 0) + 1
        pad = self.tokenizer.pad_token_id
        tokens = torch.full((rows, sampling.max_new_tokens), pad, dtype=torch.long, device=self.device)
        logprobs = torch.zeros(rows, sampling.max_new_tokens, device=self.device)
        active = torch.arange(rows, device=self.device)  # row of each cache entry
        done = torch.zeros(rows, dtype=torch.bool, device=self.device)
        lengths = torch.full((rows,), sampling.max_new_tokens, dtype=torch.long, device=self.device)
        stopped_rows = torch.zeros(rows, dtype=torch.bool, device=self.device)
        for t in range(sampling.max_new_tokens):
            token, logp = sample_tokens(logits, sampling.temperature, sampling.top_p, uniforms[active, t])
            token, logp = token.masked_fill(done, pad), logp.masked_fill(done, 0.0)
            tokens[active, t], logprobs[active, t] = token, logp
            if attention is not None:
                attention[active, prompt_ids.shape[1] + t] = (~done).long()
            stopped = stops.hit(tokens[active, max(0, t - stops.window + 1) : t + 1], self.tokenizer) & ~done
            lengths[active[stopped]], stopped_rows[active[stopped]] = t + 1, True
            done = done | stopped
            if done.all() or t + 1 == sampling.max_new_tokens:
                break
            if done.float().mean() > 0.5:  # drop finished rows once they are the majority
                keep = (~done).nonzero().squeeze(-1)
                cache.batch_select_indices(keep)
                active, token, next_position, done = active[keep], token[keep], next_position[keep], done[keep]
            if shared:  # a row sees all its own tokens (a finished row's are never read)
                with decoding_with_shared_prefix(self.model):
                    out = self.model(input_ids=token[:, None], position_ids=next_position, **cache_kwargs(cache), use_cache=True, shared_prefix=cache)
            else:
                out = self.model(
                    input_ids=token[:, None],
                    attention_mask=attention[active, : prompt_ids.shape[1] + t + 1],
                    position_ids=next_position,
                    **cache_kwargs(cache),
                    use_cache=True,
                )
            next_position = next_position + 1
            logits = out.logits[:, -1]
        return prompt_ids.repeat_interleave(n, 0), prompt_mask.repeat_interleave(n, 0), tokens, logprobs, lengths, ~stopped_rows

    def _sample_generate(self, prompts: list[str], n: int, sampling: Sampling, stops: Stops) -> tuple[Tensor, ...]:
        encoded = self._encode([p for p in prompts for _ in range(n)])
        greedy = sampling.temperature == 0
        out = self.model.generate(
            **encoded,
            do_sample=not greedy,
            temperature=None if greedy else sampling.temperature,
            top_p=None if greedy else sampling.top_p,
            top_k=None if greedy else 0,
            max_new_tokens=sampling.max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=list(stops.token_ids),
            stop_strings=list(stops.strings) or None,
            tokenizer=self.tokenizer if stops.strings else None,
            output_scores=True,
            return_dict_in_generate=True,
        )
        completion = out.sequences[:, encoded["input_ids"].shape[1] :]
        # out.scores: one [N, V] tensor of warped logits per generated position.
        logprobs = torch.stack(
            [torch.log_softmax(s.float(), -1).gather(-1, completion[:, t, None]).squeeze(-1) for t, s in enumerate(out.scores)], 1
        )
        if greedy:
            logprobs = torch.zeros_like(logprobs)
        lengths, truncated = stops.lengths(completion, self.tokenizer)
        return encoded["input_ids"], encoded["attention_mask"], completion, logprobs.nan_to_num(0.0, neginf=0.0), lengths, truncated
