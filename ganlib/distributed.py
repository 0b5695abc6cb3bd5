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
from collections.abc import Callable, Iterator

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
        torch.cuda.set_device(rank_gpu(device, int(os.environ.get("LOCAL_RANK", "0"))))
    dist.init_process_group("nccl" if cuda else "gloo")


def rank_gpu(device: str, local_rank: int) -> int:
    """The GPU a rank trains on under torchrun: the one of its LOCAL_RANK. `cuda:K` is refused
    there, since it would put every rank on GPU K."""
    if device.startswith("cuda:"):
        raise ValueError(f"--device {device} under torchrun would put every process on one GPU; "
                         "use --device cuda (each process takes the GPU of its LOCAL_RANK) "
                         "and choose the GPUs with CUDA_VISIBLE_DEVICES")
    return local_rank


def from_rank0(read: Callable[[], object]) -> object:
    """What `read()` returns on rank 0, on every rank; only rank 0 calls it.

    Under torchrun rank 0 reads (a checkpoint, say) and sends what it read to the others, so
    a node without the file (no shared file system) resumes the same run as rank 0. A
    ValueError or FileNotFoundError on rank 0 is raised on every rank.
    """
    if not dist.is_initialized():
        return read()
    box: list[object] = [None]
    if dist.get_rank() == 0:
        try:
            box = [(True, read())]
        except (ValueError, FileNotFoundError) as e:
            box = [(False, e)]
    dist.broadcast_object_list(box, src=0)  # pickled: between the ranks of one job
    ok, value = box[0]
    if not ok:
        raise value
    return value


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
    # broadcast_buffers=False: no broadcast of rank 0's buffers before every forward (each
    # rank's BatchNorm statistics are its own, or SyncBatchNorm's, which are already shared)
    run.G, run.critic = (DataParallel(net, device_ids=ids, broadcast_buffers=False)
                         for net in nets)
    try:
        yield
        # rank 0 has written the run folder: only now may the others end (torchrun stops
        # every rank as soon as one ends with a signal's exit status, or an error)
        dist.barrier()
    except FloatingPointError:  # training diverged: every rank stopped at the same check
        dist.barrier()
        raise
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
