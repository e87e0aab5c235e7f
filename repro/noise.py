"""Additive uniform noise for the robustness sweep (Sec. 3.3.2, Figs. 4 and 5).

The paper adds noise drawn from U[-s, s] to the input image, for s in [0, 1], and plots the accuracy
of each classifier ``i``, of ``A_S∘i`` and of ``A_i∘i`` against ``s`` (the levels swept:
:data:`repro.vocabulary.NOISE_LEVELS`). Pixel space here is [0, 1] RGB, the space every model of this
project takes.

Decisions the paper leaves open:

- **Clamping** (:data:`CLAMP` = True): after adding the noise the image is clamped to [0, 1]. A value
  outside [0, 1] is not a pixel: the paper's noisy examples (Fig. 4) are shown as images, so they were
  representable ones, and our classifiers and autoencoders were trained on [0, 1] inputs only, so
  unclamped inputs would measure extrapolation to impossible inputs rather than robustness to noise.
  The consequence, stated here so the curves read right: at s = 1 a pixel keeps little of its value
  (x + U[-1, 1] clamped), and the noise is no longer zero-mean near 0 and 1.
- **Reproducibility**: the noise of test image number ``n`` (its position in the test set) at level
  ``s`` comes from its own ``torch.Generator`` on the CPU, seeded from ``(seed, s, n)``
  (:func:`image_seed`). So every model sees the very same noisy image at each ``s``, and the numbers
  do not depend on the batch size, on the order batches come in, or on the device (the noise is
  generated on the CPU, then moved).
- The seed is the CPU Mersenne twister's, 32 bits (torch truncates wider seeds, measured: seeds 5 and
  2**32 + 5 give the same stream). A hash of ``(seed, s)`` gives each level a base and image ``n`` takes
  ``base + n``, so that within a level no two images can share a stream (hashing ``(seed, s, n)`` into
  32 bits would, by the birthday bound, repeat about once in 10^5 images).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

#: Clamp noisy images to [0, 1] (see the module docstring for why).
CLAMP = True

_LEVEL_RESOLUTION = 10**6  # levels that agree to 6 decimals share their noise (0.30000000000000004 is 0.3)


def level_key(level: float) -> int:
    """The integer that stands for a noise level in the seed.

    >>> level_key(0.1 * 3), level_key(0.3)
    (300000, 300000)
    """
    if not (np.isfinite(level) and level >= 0):
        raise ValueError(f"noise level must be a finite number >= 0, got {level!r}")
    return int(round(float(level) * _LEVEL_RESOLUTION))


def image_seed(seed: int, level: float, index: int) -> int:
    """The 32-bit generator seed for test image ``index`` at noise level ``level``.

    >>> image_seed(0, 0.5, 7) == image_seed(0, 0.5, 6) + 1 or image_seed(0, 0.5, 6) == 2**32 - 1
    True
    >>> image_seed(0, 0.5, 7) != image_seed(1, 0.5, 7) and image_seed(0, 0.5, 7) != image_seed(0, 0.6, 7)
    True
    """
    if index < 0:
        raise ValueError(f"image index must be >= 0, got {index}")
    base = int(np.random.SeedSequence([int(seed) & (2**64 - 1), level_key(level)]).generate_state(1, np.uint32)[0])
    return (base + int(index)) % 2**32


def uniform_noise(shape: Sequence[int], level: float, *, seed: int, first_index: int) -> torch.Tensor:
    """Noise U[-level, level] of ``shape`` (N, ...) on the CPU, float32, for images ``first_index`` onward.

    Row ``k`` depends only on ``(seed, level, first_index + k)``, so the noise of an image does not
    depend on how the test set was cut into batches.

    >>> a = uniform_noise((4, 3, 2, 2), 0.5, seed=0, first_index=0)
    >>> b = uniform_noise((2, 3, 2, 2), 0.5, seed=0, first_index=2)
    >>> torch.equal(a[2:], b), bool(a.abs().max() <= 0.5)
    (True, True)
    """
    n, *rest = (int(d) for d in shape)
    out = torch.empty((n, *rest), dtype=torch.float32)
    if level == 0:
        return out.zero_()
    generator = torch.Generator(device="cpu")
    base = image_seed(seed, level, 0)
    for k in range(n):
        generator.manual_seed((base + first_index + k) % 2**32)
        torch.rand(rest, generator=generator, out=out[k])
    # U[0, 1) -> U[-s, s): the affine map keeps the distribution uniform.
    return out.mul_(2 * level).sub_(level)


def add_uniform_noise(
    images: torch.Tensor, level: float, *, seed: int, first_index: int, clamp: bool = CLAMP
) -> torch.Tensor:
    """``images`` (N, C, H, W) in [0, 1] plus U[-level, level] noise, clamped to [0, 1] when ``clamp``.

    Returns a new tensor on the images' device and dtype; the input is not changed. Level 0 returns a
    copy of the images (adding zeros would give the same values).

    >>> x = torch.full((2, 3, 4, 4), 0.5)
    >>> y = add_uniform_noise(x, 1.0, seed=0, first_index=0)
    >>> bool(y.min() >= 0) and bool(y.max() <= 1) and not torch.equal(x, y)
    True
    """
    if images.ndim < 1:
        raise ValueError("images must have a batch dimension")
    if level == 0:
        return images.clone()
    noise = uniform_noise(images.shape, level, seed=seed, first_index=first_index)
    noisy = images + noise.to(device=images.device, dtype=images.dtype)
    return noisy.clamp_(0.0, 1.0) if clamp else noisy
