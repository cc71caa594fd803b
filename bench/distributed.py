"""One run over the processes torchrun starts: the process group, each rank's device, one run dir.

`torchrun --nproc_per_node N -m bench ...` sets RANK, WORLD_SIZE and LOCAL_RANK; a plain
`python -m bench` sets none of them and runs as one process with no process group. Gloo on the
CPU, NCCL on CUDA with one device per local rank. The data-parallel semantics (who trains which
rows, the sums) are algorithms/parallel.py's.
"""

from __future__ import annotations

import datetime
import os
import time
import uuid

import torch
import torch.distributed as dist

from algorithms.parallel import SINGLE, Parallel

TIMEOUT = datetime.timedelta(minutes=30)  # a collective waits this long before failing (a peer's long evaluation)
LAUNCH = "RLVR_BENCH_LAUNCH"  # one id per launch of the processes, the same on every rank (rank 0's)


def launched() -> bool:
    """Whether this process is one of several that torchrun (or srun + torchrun, or submitit) started for one run."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def export_submitit_tasks() -> bool:
    """A submitit job of several tasks (`hydra.launcher.tasks_per_node` > 1, or `nodes` > 1) is one run:
    torch's env:// variables (rank, world, local rank, the first node as rendezvous) from the job's
    environment, every task keeping sight of the node's GPUs (each picks its local rank's).
    Returns whether it did (the job then owns its process group)."""
    if "SUBMITIT_EXECUTOR" not in os.environ or "WORLD_SIZE" in os.environ:
        return False
    import submitit

    if submitit.JobEnvironment().num_tasks == 1:
        return False
    submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    return True


def init_process_group() -> Parallel:
    """Join the run's process group (once); one process without torchrun."""
    if not launched():
        return SINGLE
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(local_rank())
        # gloo for CPU tensors (a device=cpu run on a GPU machine), NCCL for CUDA ones
        dist.init_process_group("cpu:gloo,cuda:nccl" if cuda else "gloo", timeout=TIMEOUT)
        os.environ[LAUNCH] = current().broadcast(uuid.uuid4().hex)
    return current()


def current() -> Parallel:
    """This process's place in the run (SINGLE outside torchrun)."""
    if not dist.is_initialized():
        return SINGLE
    return Parallel(rank=dist.get_rank(), world=dist.get_world_size())


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def rank_device(device: torch.device) -> torch.device:
    """A CUDA run's rank computes on the GPU of its local rank; CPU ranks share the CPU."""
    if device.type == "cuda" and launched():
        return torch.device("cuda", local_rank())
    return device


def cpu_threads_per_rank() -> int | None:
    """On the CPU, the cores split between the node's ranks (None outside torchrun: torch's default)."""
    if not launched():
        return None
    return max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def agreed_overrides(argv: list[str]) -> list[str]:
    """Hydra overrides that make every rank compose the same run: rank 0's `sweep_id` (a timestamp each
    process would otherwise take from its own clock, naming a different run dir), and, on the other
    ranks, no `.hydra/` copy and a log file of their own in the run dir."""
    parallel = init_process_group()
    extra = []
    if not any(arg.startswith("sweep_id=") for arg in argv):
        extra.append("sweep_id=" + parallel.broadcast(time.strftime("%Y-%m-%d_%H-%M-%S")))
    if not parallel.is_main:
        extra += ["hydra.output_subdir=null", f"hydra.job.name=app_rank{parallel.rank}"]
    return extra


def finish() -> None:
    """Leave the process group (torchrun waits for every rank to exit)."""
    if dist.is_initialized():
        dist.destroy_process_group()
