"""Several processes through ``torchrun``: DistributedDataParallel, nccl on GPU and gloo on CPU.

Started plainly (no ``WORLD_SIZE`` in the environment) everything runs in one process and these helpers
do nothing. Under ``torchrun --nproc_per_node=N`` each process trains on its share of every global
batch (``batch_size // N`` images, through :class:`repro.data.EpochSampler`), gradients are averaged by
DDP, and rank 0 alone writes checkpoints, results and logs.

One difference from a single process is unavoidable: BatchNorm layers in training mode normalise with
their own rank's batch statistics (SyncBatchNorm needs CUDA), so N processes match one process only up
to that. With BatchNorm frozen the two agree to float rounding: ``tests/test_distributed.py`` checks it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
from repro.errors import ReproError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


_INFO = DistInfo()


def info() -> DistInfo:
    return _INFO


def init_distributed(device: str) -> tuple[DistInfo, str]:
    """Join the process group torchrun describes (if any); return it and this process's device.

    With CUDA each process takes ``cuda:<LOCAL_RANK>``.
    """
    global _INFO
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        _INFO = DistInfo()
        return _INFO, device
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.startswith("cuda")
    backend = "nccl" if cuda else "gloo"
    if cuda:
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        # Long timeout: rank 0 alone decodes the data cache while the others wait at a barrier.
        import datetime

        dist.init_process_group(backend=backend, timeout=datetime.timedelta(hours=2))
    _INFO = DistInfo(rank=rank, world_size=world, local_rank=local_rank, backend=backend)
    return _INFO, device


def shutdown() -> None:
    global _INFO
    if _INFO.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    _INFO = DistInfo()


def barrier() -> None:
    if _INFO.enabled:
        import torch.distributed as dist

        dist.barrier()


@contextlib.contextmanager
def main_first():
    """Rank 0 runs the block first (e.g. decoding the data into the cache); the others follow."""
    if not _INFO.is_main:
        barrier()
    try:
        yield
    finally:
        if _INFO.is_main:
            barrier()


def all_reduce_sum(value: torch.Tensor) -> torch.Tensor:
    if _INFO.enabled:
        import torch.distributed as dist

        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def broadcast_object(obj):
    """Rank 0's ``obj`` on every rank."""
    if not _INFO.enabled:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap_ddp(model: torch.nn.Module, device: str) -> torch.nn.Module:
    """DDP around ``model`` when running under torchrun; the model itself otherwise.

    Only parameters with ``requires_grad`` are synchronised (a frozen encoder is skipped).
    """
    if not _INFO.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [torch.device(device).index] if device.startswith("cuda") else None
    return DDP(model, device_ids=ids)


def local_batch_size(global_batch: int, setting: str) -> int:
    """This process's share of a global batch; the batch must split evenly across processes."""

    if global_batch % _INFO.world_size:
        raise ReproError(f"{setting}={global_batch} does not split over {_INFO.world_size} processes")
    return global_batch // _INFO.world_size
