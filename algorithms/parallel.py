"""Data parallelism over the processes of one run (torchrun): who trains which rows, and the sums.

Every process holds the whole policy and the whole step batch (rollouts are gathered after
generation), so advantages, group statistics, PPO's whitening and every normaliser are computed
over the global batch exactly as in one process. Each process then runs forward/backward on its
own rows only (whole prompt groups), gradients are summed over processes before clipping
(`clip_and_step`), and the replicas take identical optimizer steps. The sum of the per-process
gradients is the one-process gradient, so an N-process run trains as a 1-process one does.

With one process every method is the identity and touches no process group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


@dataclass(frozen=True)
class Parallel:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes run files."""
        return self.rank == 0

    # --- who does what ------------------------------------------------------
    def span(self, count: int) -> range:
        """This process's contiguous share of `count` items (prompts, problems): sizes differ by at most one."""
        base, extra = divmod(count, self.world)
        start = self.rank * base + min(self.rank, extra)
        return range(start, start + base + (self.rank < extra))

    def own(self, rows: Tensor, groups: Tensor | None = None) -> Tensor:
        """This process's rows of `rows`: whole groups (`groups[i]` is row i's prompt) where given."""
        if self.world == 1:
            return rows
        if groups is None:
            share = self.span(len(rows))
            return rows[share.start : share.stop]
        unique = torch.unique(groups)
        share = self.span(len(unique))
        return rows[torch.isin(groups, unique[share.start : share.stop])]

    def micro_batches(self, rows: Tensor, size: int, groups: Tensor | None = None) -> list[Tensor]:
        """This process's rows of `rows`, `size` at a time (none when it owns none)."""
        mine = self.own(rows, groups)
        return list(mine.split(size)) if len(mine) else []

    # --- collectives --------------------------------------------------------
    def gather(self, obj: Any) -> list[Any]:
        """Every process's `obj`, in rank order (tensors should be on the CPU)."""
        if self.world == 1:
            return [obj]
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's `obj`, on every process."""
        if self.world == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def any(self, flag: bool) -> bool:
        return any(self.gather(bool(flag)))

    def sum(self, totals: dict[str, float]) -> dict[str, float]:
        """Per-key sums over processes of partial totals (a process that saw no rows may lack keys)."""
        if self.world == 1:
            return totals
        summed: dict[str, float] = defaultdict(float)
        for part in self.gather(totals):
            for key, value in part.items():
                summed[key] += value
        return dict(summed)

    def gather_rows(self, rows: Tensor, values: Tensor, num_rows: int) -> Tensor:
        """`[num_rows, ...]` from each process's `values` of its `rows` (rows no process owns stay 0)."""
        if self.world == 1 and len(rows) == num_rows:
            return values
        out = values.new_zeros((num_rows, *values.shape[1:]))
        for part_rows, part_values in self.gather((rows.cpu(), values.cpu())):
            out[part_rows.to(out.device)] = part_values.to(out.device, out.dtype)
        return out

    def sum_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Sum `.grad` over processes in one flat all-reduce. A parameter no process has a gradient for
        keeps `grad=None`, so AdamW skips it as it would in one process."""
        if self.world == 1:
            return
        device = params[0].device
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        has = torch.tensor([float(p.grad is not None) for p in params], device=device)
        flat = torch.cat([g.reshape(-1).float() for g in grads] + [has])
        dist.all_reduce(flat)
        offset = 0
        for p, present in zip(params, flat[-len(params) :].tolist()):
            size = p.numel()
            p.grad = flat[offset : offset + size].view_as(p).to(p.dtype) if present else None
            offset += size


SINGLE = Parallel()  # one process
