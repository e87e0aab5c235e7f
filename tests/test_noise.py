"""Additive uniform noise of the robustness sweep (repro.noise, Sec. 3.3.2)."""

from __future__ import annotations

import pytest
import torch

from repro.noise import CLAMP, add_uniform_noise, image_seed, uniform_noise
from repro.vocabulary import NOISE_LEVELS


def test_levels_are_the_papers_sweep():
    assert NOISE_LEVELS == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    assert CLAMP is True


@pytest.mark.parametrize("level", [0.1, 0.5, 1.0])
def test_noise_is_uniform_in_minus_s_to_s(level):
    noise = uniform_noise((64, 3, 16, 16), level, seed=0, first_index=0)
    assert noise.dtype == torch.float32
    assert float(noise.abs().max()) <= level
    # 49,152 draws: mean within 5 standard errors of 0, variance within 5% of s^2/3, both tails reached.
    n = noise.numel()
    assert abs(float(noise.mean())) < 5 * level / (3 * n) ** 0.5
    assert float(noise.var()) == pytest.approx(level**2 / 3, rel=0.05)
    assert float(noise.min()) < -0.99 * level and float(noise.max()) > 0.99 * level


def test_noise_does_not_depend_on_batching():
    whole = uniform_noise((10, 3, 4, 4), 0.3, seed=7, first_index=0)
    parts = [
        uniform_noise((3, 3, 4, 4), 0.3, seed=7, first_index=0),
        uniform_noise((7, 3, 4, 4), 0.3, seed=7, first_index=3),
    ]
    assert torch.equal(whole, torch.cat(parts))
    # Batches arriving in another order give each image the same noise.
    assert torch.equal(uniform_noise((2, 3, 4, 4), 0.3, seed=7, first_index=8), whole[8:])


def test_noise_is_reproducible_and_keyed_by_seed_level_and_image():
    a = uniform_noise((4, 3, 4, 4), 0.4, seed=1, first_index=0)
    assert torch.equal(a, uniform_noise((4, 3, 4, 4), 0.4, seed=1, first_index=0))
    assert not torch.equal(a, uniform_noise((4, 3, 4, 4), 0.4, seed=2, first_index=0))
    # Another level is not the same draw rescaled.
    b = uniform_noise((4, 3, 4, 4), 0.2, seed=1, first_index=0)
    assert not torch.allclose(a / 0.4, b / 0.2)
    # Different images get different noise.
    assert not torch.equal(a[0], a[1])
    # Float rounding of the level (0.1 * 3 vs 0.3) does not change the noise.
    rounded = uniform_noise((2, 3, 4, 4), 0.1 * 3, seed=1, first_index=0)
    assert torch.equal(rounded, uniform_noise((2, 3, 4, 4), 0.3, seed=1, first_index=0))


def test_image_seeds_within_a_level_are_distinct():
    seeds = {image_seed(0, 0.5, i) for i in range(10_000)}
    assert len(seeds) == 10_000


def test_add_noise_clamps_and_keeps_device_and_dtype():
    x = torch.rand(5, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = add_uniform_noise(x, 0.8, seed=0, first_index=0)
    assert y.dtype == torch.float64 and y.device == x.device
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    raw = add_uniform_noise(x, 0.8, seed=0, first_index=0, clamp=False)
    assert float(raw.min()) < 0.0 or float(raw.max()) > 1.0
    assert torch.equal(raw.clamp(0, 1), y)
    # The difference is exactly the noise of those images (float32 noise, added in float64).
    expected = uniform_noise(x.shape, 0.8, seed=0, first_index=0).double()
    assert torch.equal(raw - x, expected) or torch.allclose(raw - x, expected, atol=1e-12)


def test_level_zero_is_a_copy_of_the_images():
    x = torch.rand(2, 3, 4, 4)
    y = add_uniform_noise(x, 0.0, seed=0, first_index=0)
    assert torch.equal(x, y) and y.data_ptr() != x.data_ptr()


def test_bad_levels_are_rejected():
    with pytest.raises(ValueError, match="noise level"):
        uniform_noise((1, 3, 2, 2), -0.1, seed=0, first_index=0)
    with pytest.raises(ValueError, match="noise level"):
        uniform_noise((1, 3, 2, 2), float("nan"), seed=0, first_index=0)
