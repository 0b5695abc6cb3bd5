"""Training on several processes at once with PyTorch's DistributedDataParallel (DDP).

`torchrun --nproc_per_node=N -m ganlib train ...` starts N copies of the same command, one per
GPU (or N on a CPU). Each copy, a *rank*, builds the same run from the same seed and draws
the same random numbers, so each can draw the whole global batch (N x batch_size rows of
data, z and the penalty's α) and keep its own share: rank r keeps rows r·B to (r+1)·B - 1.
DDP averages the gradients over the ranks during `backward()`, every rank takes the same
optimizer step, and the N copies stay identical. N processes thus train what one process
would with a batch of N x batch_size: `batch_size` is per process, as in every DDP program.

Without torchrun (no WORLD_SIZE above 1 in the environment) nothing here runs: a run on one
process takes exactly the path it always took.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel


def world_size() -> int:
    """How many processes torchrun started for this run (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's number among them, 0 to world_size() - 1 (0 without torchrun)."""
    return dist.get_rank() if dist.is_initialized() else int(os.environ.get("RANK", "0"))


def join(device: str) -> None:
    """Join torchrun's process group (once per process): gloo on CPUs, NCCL on CUDA GPUs.

    On CUDA each rank takes the GPU of its LOCAL_RANK, so `device="cuda"` means its own GPU.
    """
    if world_size() == 1 or dist.is_initialized():
        return
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")


def leave() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_initialized():
        dist.destroy_process_group()


class DataParallel(DistributedDataParallel):
    """DDP that still answers like the net it wraps (`G.z_dim`, `G.sample(...)`)."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def unwrap(model: nn.Module) -> nn.Module:
    """The net inside a DataParallel wrapper (the net itself when not wrapped)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


@contextlib.contextmanager
def data_parallel(run) -> Iterator[None]:
    """Train `run` on all ranks: both nets wrapped in DDP while inside, unwrapped after.

    BatchNorm: on CUDA the nets' BatchNorm layers become SyncBatchNorm, whose statistics
    cover the global batch, as on one process, and stay SyncBatchNorm after (same parameters
    and buffers, so a checkpoint loads into the plain nets); gloo (CPUs) has no SyncBatchNorm,
    so there each rank normalises with its own share's statistics (a smaller batch than one
    process's) and the nets come back as they went in.
    """
    if world_size() == 1:
        yield
        return
    run.rank, run.world = dist.get_rank(), dist.get_world_size()
    on_gpu = run.device.type == "cuda"
    plain = run.G, run.critic
    nets = [nn.SyncBatchNorm.convert_sync_batchnorm(net) if on_gpu else net for net in plain]
    ids = [run.device.index] if on_gpu else None
    run.G, run.critic = (DataParallel(net, device_ids=ids) for net in nets)
    try:
        yield
        # rank 0 has written the run folder: only now may the others end (torchrun stops
        # every rank as soon as one ends with a signal's exit status)
        dist.barrier()
    finally:
        run.G, run.critic = (unwrap(net) for net in (run.G, run.critic))


def agree_to_stop(done: bool, stop) -> bool:
    """Whether to stop now: `done` (the budget is spent, or a hook asked) or a stop signal.

    Under torchrun the ranks agree: when any rank is done or got a signal (Ctrl-C, SIGTERM),
    all of them stop after the same step and all report the signal (`stop.signum`).
    """
    if not dist.is_initialized():
        return done or stop.requested
    any_done, signum = largest(float(done), float(stop.signum))
    # A signal may come in while the votes are counted: it then counts at the next vote, so
    # that every rank acts on the same count (and none clears it).
    if signum and not stop.requested:
        stop.signum = int(signum)
    return bool(any_done or signum)


def slowest(seconds: float) -> float:
    """The largest of the ranks' `seconds`, so that a time budget, and a learning rate that
    decays with it, are the same on every rank (which keeps their weights the same)."""
    return largest(seconds)[0] if dist.is_initialized() else seconds


def largest(*values: float) -> list[float]:
    """Each of `values`, the largest over all ranks."""
    on_gpu = dist.get_backend() == "nccl"  # NCCL reduces CUDA tensors only
    t = torch.tensor(values, dtype=torch.float64,
                     device=torch.cuda.current_device() if on_gpu else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def mean_over_ranks(values: Tensor) -> Tensor:
    """The average of `values` over all ranks (the values themselves on one process)."""
    if not dist.is_initialized():
        return values
    values = values.clone()
    dist.all_reduce(values)  # a sum: gloo has no average
    return values / dist.get_world_size()
