"""LAB statistics of reconstructions (repro.colour, Sec. 3.3.1) on inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.colour import (
    LabStatistics,
    histogram_counts,
    histogram_percentile,
    nyquist_power,
    rgb_to_lab,
)
from repro.figures import plot_lab_panel


def smooth_images(n: int = 8, size: int = 16, seed: int = 0) -> torch.Tensor:
    """Images without 2-pixel structure: random colours blended along random gradients, in [0.1, 0.9]."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, size)
    yy, xx = torch.meshgrid(ramp, ramp, indexing="ij")
    c0 = torch.rand(n, 3, 1, 1, generator=g)
    c1 = torch.rand(n, 3, 1, 1, generator=g)
    w = torch.rand(n, 1, 1, 1, generator=g)
    t = (w * xx + (1 - w) * yy).expand(n, 1, size, size)
    return 0.1 + 0.8 * (c0 * (1 - t) + c1 * t)


def stats_of(x: torch.Tensor, recon: torch.Tensor) -> dict:
    s = LabStatistics(["A"])
    s.update(x, {"A": recon})
    return s.result()["A"]


def test_identity_gives_zero_change():
    x = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    r = stats_of(x, x.clone())
    assert r["total_change"] == 0.0
    for ch in "Lab":
        assert r["hist_distance"][ch] == 0.0
        assert r["mean_shift"][ch] == 0.0
        assert r["mean_abs_diff"][ch] == 0.0
        assert r["checkerboard"][ch] == r["checkerboard_original"][ch]
    assert (r["L_p01"], r["L_p99"]) == (r["L_p01_original"], r["L_p99_original"])
    assert r["n_images"] == 6


def test_yellow_tint_is_a_positive_b_shift():
    x = smooth_images()
    yellow = x.clone()
    yellow[:, 2] *= 0.7  # less blue: yellow/brown, Sec. 3.3.1's A_I
    r = stats_of(x, yellow)
    assert r["mean_shift"]["b"] > 5.0
    assert r["mean_shift"]["b"] > abs(r["mean_shift"]["a"])
    assert r["hist_distance"]["b"] > r["hist_distance"]["a"]


def test_pink_hue_is_a_positive_a_shift():
    x = smooth_images()
    pink = x.clone()
    pink[:, 1] *= 0.8  # less green: magenta/pink, Sec. 3.3.1's A_A
    r = stats_of(x, pink)
    assert r["mean_shift"]["a"] > 5.0
    assert r["mean_shift"]["a"] > abs(r["mean_shift"]["b"])


def test_checkerboard_raises_the_nyquist_energy():
    x = smooth_images()
    checker = (torch.arange(16).view(-1, 1) + torch.arange(16).view(1, -1)) % 2 * 2.0 - 1.0
    r = stats_of(x, (x + 0.05 * checker).clamp(0, 1))
    assert r["checkerboard_original"]["L"] < 0.02
    assert r["checkerboard"]["L"] > 10 * r["checkerboard_original"]["L"]
    # A colour checkerboard (red/green alternating) shows in a as well (Sec. 3.3.1: peaks in a and b).
    colour = torch.stack([checker, -checker, torch.zeros_like(checker)])
    r = stats_of(x, (x + 0.05 * colour).clamp(0, 1))
    assert r["checkerboard"]["a"] > 10 * r["checkerboard_original"]["a"]


def test_luminance_compression_narrows_the_range():
    x = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    r = stats_of(x, 0.5 + 0.6 * (x - 0.5))  # dark brighter, bright darker (A_R, A_I)
    assert r["L_p01"] > r["L_p01_original"] + 5
    assert r["L_p99"] < r["L_p99_original"] - 5
    assert r["L_range"] < r["L_range_original"]


def test_total_change_grows_with_the_change():
    x = smooth_images()
    small = stats_of(x, (x + 0.02).clamp(0, 1))["total_change"]
    large = stats_of(x, (x + 0.1).clamp(0, 1))["total_change"]
    assert 0 < small < large


def test_batches_accumulate_like_one_batch():
    x = torch.rand(10, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    r = (x * 0.9 + 0.05).flip(-1)
    one = LabStatistics(["A"])
    one.update(x, {"A": r})
    two = LabStatistics(["A"])
    two.update(x[:4], {"A": r[:4]})
    two.update(x[4:], {"A": r[4:]})
    a, b = one.result()["A"], two.result()["A"]
    assert a["hist_distance"] == b["hist_distance"]
    assert (a["L_p01"], a["L_p99"]) == (b["L_p01"], b["L_p99"])
    for key in ("mean_shift", "mean_abs_diff", "checkerboard"):
        for ch in "Lab":
            assert a[key][ch] == pytest.approx(b[key][ch], rel=1e-9, abs=1e-12)
    assert a["total_change"] == pytest.approx(b["total_change"], rel=1e-9)


def test_histogram_percentile_matches_numpy_within_a_bin():
    v = np.random.default_rng(0).uniform(0, 100, 100_000)
    counts = histogram_counts(v, 0.0, 0.5, 200)
    for q in (1, 50, 99):
        assert histogram_percentile(counts, 0.0, 0.5, q) == pytest.approx(np.percentile(v, q), abs=0.5)


def test_nyquist_power_of_stripes_and_noise():
    stripes = np.tile(np.array([0.0, 1.0] * 4), (8, 1))[None]  # 2-pixel period along x
    nyq, total = nyquist_power(stripes)
    assert nyq == pytest.approx(total)
    # White noise spreads power evenly: (H + W - 1) / (H W) of it on the Nyquist cross.
    noise = np.random.default_rng(0).normal(size=(400, 16, 16))
    nyq, total = nyquist_power(noise)
    assert nyq / total == pytest.approx(31 / 256, rel=0.05)
    # Odd sides use the two frequencies next to Nyquist.
    odd = np.random.default_rng(1).normal(size=(100, 15, 15))
    nyq, total = nyquist_power(odd)
    assert nyq / total == pytest.approx((2 * 15 + 2 * 15 - 4) / 225, rel=0.06)


def test_rgb_to_lab_shapes_and_known_colours():
    rgb = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]).T.reshape(1, 3, 1, 2)  # yellow, black
    lab = rgb_to_lab(rgb)
    assert lab.shape == (1, 3, 1, 2) and lab.dtype == np.float32
    assert lab[0, 2, 0, 0] > 90  # yellow: large positive b
    assert np.allclose(lab[0, :, 0, 1], 0, atol=1e-4)
    with pytest.raises(ValueError):
        rgb_to_lab(torch.rand(3, 4, 4))


def test_fig3_panel_renders(tmp_path):
    x = smooth_images(1)[0]
    recons = {"A_S": (x * 0.95).clamp(0, 1), "A_I": x * torch.tensor([1.0, 1.0, 0.7]).view(3, 1, 1)}
    path = plot_lab_panel(x, recons, tmp_path / "figs" / "fig3_lab.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000


def test_per_image_record_is_the_aggregate_split_by_unit():
    """The per-unit sums (repro.per_image) add up to the aggregate statistics, whatever the batching."""
    from repro.per_image import decode_array

    x = smooth_images(n=9, size=8)
    recon = (x * torch.tensor([1.0, 0.9, 0.7]).view(1, 3, 1, 1)).clamp(0, 1)
    records = []
    for splits in ([9], [4, 5], [1, 2, 6]):
        s = LabStatistics(["A"], per_image=True)
        start = 0
        for k in splits:
            s.update(x[start : start + k], {"A": recon[start : start + k]})
            start += k
        records.append(s.per_image_record())
    assert records[0] == records[1] == records[2]
    rec, agg = records[0], s.result()["A"]
    q, offset, step = decode_array(rec["sums"]["A"])
    sums = dict(zip(rec["columns"], (offset + step * q).sum(axis=0)))
    assert q.shape == (5, 13)  # 9 images: 5 units of two (the last of one)
    for ch in "Lab":  # one quantisation step per unit at most
        assert sums[f"diff_{ch}"] / 9 == pytest.approx(agg["mean_shift"][ch], abs=5 * step[rec["columns"].index(f"diff_{ch}")])
        share = sums[f"nyquist_{ch}"] / sums[f"power_{ch}"]
        assert share == pytest.approx(agg["checkerboard"][ch], rel=1e-3)
