"""Measuring throughput for the time budget's planner (:mod:`repro.budget`): a training unit's images/s on
its first steps (:class:`StepTimer`), a model's forward images/s, and the per-image cost of the nMI and
LAB statistics. Timings only: what they decide is the planner's.
"""

from __future__ import annotations

import contextlib
import math
import time

import torch

from repro.analysis.nmi import AVERAGES, NMI_SHUFFLE_SEED, NMIAccumulator
from repro.colour import LabStatistics
from repro.training import autocast

# Measuring a unit's training throughput: warm-up steps first (the first steps start the data loader,
# allocate the optimiser's state and pick kernels), then at least MIN_STEPS steps and MIN_SECONDS.
WARMUP_STEPS = 2
MIN_STEPS = 5
MIN_SECONDS = 1.0
MAX_STEPS = 200
# The classifiers' measurement runs on a copy and is thrown away: shorter.
COPY_MIN_STEPS = 3
COPY_MIN_SECONDS = 0.5
COPY_MAX_STEPS = 50

# --- timing -----------------------------------------------------------------------------------------


def sync_device(device: str) -> None:
    if str(device).startswith("cuda"):

        torch.cuda.synchronize(device)


def rng_devices(device: str) -> list[int]:
    """The CUDA devices whose random state fork_rng saves for a measurement on ``device``."""

    if str(device).startswith("cuda") and torch.cuda.is_available():
        return [torch.device(device).index or 0]
    return []


class StepTimer:
    """Times training steps (the device synchronised at each step's end) after ``warmup`` of them;
    :meth:`excluded` blocks (e.g. a validation check run from the same hook) are left out."""

    def __init__(self, device: str, warmup: int = WARMUP_STEPS, min_steps: int = MIN_STEPS,
                 min_seconds: float = MIN_SECONDS, max_steps: int = MAX_STEPS, limit_s: float = math.inf) -> None:
        self.device, self.warmup, self.min_steps, self.min_seconds, self.max_steps = (
            device, warmup, min_steps, min_seconds, max_steps)
        self.limit_s = limit_s  # enough after two steps once the steps since the first took this long
        self.steps = 0
        self.excluded_s = 0.0
        self.first: float | None = None  # train clock at the end of the first step
        self.warm: float | None = None  # ... of the last warm-up step
        self.last: float | None = None

    def _clock(self) -> float:
        return time.perf_counter() - self.excluded_s

    def step_done(self) -> None:
        sync_device(self.device)
        now = self._clock()
        self.steps += 1
        self.last = now
        if self.steps == 1:
            self.first = now
        if self.steps == self.warmup:
            self.warm = now

    @contextlib.contextmanager
    def excluded(self):
        sync_device(self.device)
        t = time.perf_counter()
        try:
            yield
        finally:
            sync_device(self.device)
            self.excluded_s += time.perf_counter() - t

    @property
    def timed_steps(self) -> int:
        return max(0, self.steps - self.warmup)

    def enough(self) -> bool:
        n = self.timed_steps
        if self.steps >= 2 and self.last - self.first >= self.limit_s:
            return True
        return n >= self.max_steps or (n >= self.min_steps and self.last - self.warm >= self.min_seconds)

    def measurement(self) -> tuple[float, int, float]:
        """(seconds per step, steps measured, seconds measured): the steps after the warm-up, else
        every step after the first, else None for a single step (nothing to time it against)."""
        if self.timed_steps >= 1:
            return (self.last - self.warm) / self.timed_steps, self.timed_steps, self.last - self.warm
        if self.steps >= 2:
            return (self.last - self.first) / (self.steps - 1), self.steps - 1, self.last - self.first
        raise ValueError("one step: nothing to time it against")



def time_forward(model, x, precision: str, device: str) -> float:
    """Seconds per image of ``model``'s forward pass on ``x`` (eval mode, no gradients), after one
    warm-up batch."""


    with torch.inference_mode(), autocast(device, precision):
        model(x)
        sync_device(device)
        t0, n = time.perf_counter(), 0
        while n < PROBE_MAX_BATCHES:
            model(x)
            n += 1
            sync_device(device)
            if time.perf_counter() - t0 >= PROBE_SECONDS:
                break
    return (time.perf_counter() - t0) / (n * x.shape[0])


def time_statistics(x, bins: int) -> float:
    """Seconds per image and autoencoder of the evaluation's nMI and LAB statistics (on a noisy copy
    of ``x`` standing in for a reconstruction)."""


    recon = (x + 0.05 * torch.randn_like(x)).clamp(0, 1)
    t0 = time.perf_counter()
    NMIAccumulator(bins=bins, averages=AVERAGES, baseline_seed=NMI_SHUFFLE_SEED, keep=True).update(x, recon)
    LabStatistics(["A"], per_image=True).update(x, {"A": recon})
    sync_device(str(x.device))
    return (time.perf_counter() - t0) / x.shape[0]

# The planner's forward-throughput probe: batches of at most this many images, repeated for at least
# PROBE_SECONDS per model (a GPU batch can take well under a millisecond).
PROBE_IMAGES = 256
PROBE_SECONDS = 0.2
PROBE_MAX_BATCHES = 20
