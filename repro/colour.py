"""LAB statistics of reconstructions against their originals (Sec. 3.3.1, Fig. 3).

Sec. 3.3.1 describes the fine-tuned autoencoders' reconstructions through their CIE LAB histograms:
changes by A_V are the smallest; A_A and A_R show checkerboard artifacts over the whole image (peaks in
the a and b histograms); A_R and A_I compress the luminance range (dark brighter, bright darker); A_I
shifts b (a yellow/brown tint, positive b); A_A gives a pink hue (positive a). :class:`LabStatistics`
turns each statement into a number, accumulated over the test set batch by batch (nothing but fixed-size
histograms and sums is kept); :func:`repro.figures.plot_lab_panel` draws the Fig. 3 panel.

RGB -> LAB is scikit-image's ``rgb2lab`` (sRGB, D65 white, 2° observer). Measured on 10,000 random 32x32
images on this project's 2-core CPU: scikit-image 0.44 s (about 23,000 images/s, float32 kept),
kornia's ``rgb_to_lab`` 1.49 s (about 6,700 images/s); the two agree to 1.2e-4 LAB units. The
statistics below are computed in numpy on the CPU anyway, so kornia's one advantage (running on the
accelerator) would not be used.

The ``"lab"`` entry of ``results.json``, one dict per autoencoder name (``"A_S"``, ``"A_<key>"``), all
numbers over every pixel of every test image (LAB units: L in [0, 100], a and b roughly [-128, 128])::

    {
      "hist_distance": {"L": ., "a": ., "b": .},   # total variation distance, see below; 0 = same
      "mean_shift": {"L": ., "a": ., "b": .},      # mean of recon - original; b > 0 yellow, a > 0 red/pink
      "mean_abs_diff": {"L": ., "a": ., "b": .},   # mean |recon - original| per channel
      "total_change": .,                           # mean CIE76 colour difference, sqrt(dL^2 + da^2 + db^2)
      "L_p01": ., "L_p99": ., "L_range": .,        # 1st / 99th percentile of L of the reconstructions
      "L_p01_original": ., "L_p99_original": ., "L_range_original": .,   # the same for the originals
      "checkerboard": {"L": ., "a": ., "b": .},    # Nyquist power share of the reconstructions
      "checkerboard_original": {"L": ., "a": ., "b": .},
      "n_images": N
    }

With ``per_image=True``, :class:`LabStatistics` also keeps each image's contribution to these
numbers, for the bootstrap (:meth:`LabStatistics.per_image_record`, decoded by
repro.per_image). Every statistic above but the histogram distance is a ratio of sums over images
(``mean_shift``, ``mean_abs_diff``, ``total_change``: per-pixel sums over pixels; ``checkerboard``:
Nyquist power over total power) or a percentile of the pooled L histogram, which a re-weighting of
images changes only through the bins near it: so each image's per-pixel means and power are kept, and
the counts of its L histogram in a window of bins around the 1st and the 99th percentile. The
histogram distance compares two whole pooled histograms and is not resampled.

Definitions:

- **Histogram distance**: each channel's values over the whole test set are counted in fixed bins of
  0.5 LAB units, L over [0, 100] and a, b over [-128, 128] (values outside fall into the end bins); the
  distance is the total variation between the two normalised histograms, ``0.5 * sum |p - q|``, which is
  half the L1 distance and lies in [0, 1] (0: same distribution, 1: no overlap).
- **Luminance range**: the 1st and 99th percentiles of L read from the accumulated histogram (linear
  inside a bin, so exact to well under the 0.5 bin width). Compression (Sec. 3.3.1: dark brighter,
  bright darker) is ``L_p01 > L_p01_original`` and ``L_p99 < L_p99_original``.
- **Checkerboard energy**: for each image and channel, subtract the image's mean (so the DC term is 0),
  take the 2-D FFT and its power ``|F|^2``; the energy at the 2-pixel period is the power on the Nyquist
  rows and columns, ``k_y = H/2`` for any ``k_x`` and ``k_x = W/2`` for any ``k_y`` (for an odd side,
  the two frequencies next to Nyquist, ``(H-1)/2`` and ``(H+1)/2``). The statistic is that power summed
  over all images divided by the total power summed over all images (a ratio of sums, so flat images
  weigh nothing). A 2-pixel checkerboard or stripe pattern puts all its power there; natural images put
  little (white noise: ``(H + W - 1) / (H W)`` of it, 6.2% at 32x32).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from repro.per_image import (LAB_COLUMNS, LAB_ORIGINAL_COLUMNS, encode_array, encode_tails, histogram_percentile,
                             n_units, tail_windows, unit_sums)

CHANNELS = ("L", "a", "b")


@dataclass(frozen=True)
class LabConfig:
    """Histogram ranges and bin width of :class:`LabStatistics` (LAB units)."""

    bin_width: float = 0.5
    l_range: tuple[float, float] = (0.0, 100.0)
    ab_range: tuple[float, float] = (-128.0, 128.0)
    low_percentile: float = 1.0
    high_percentile: float = 99.0

    def range_of(self, channel: int) -> tuple[float, float]:
        return self.l_range if channel == 0 else self.ab_range

    def bins_of(self, channel: int) -> int:
        lo, hi = self.range_of(channel)
        return int(round((hi - lo) / self.bin_width))


def rgb_to_lab(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 3, H, W) float32 CIE LAB (L, a, b), on the CPU.

    Values are clamped to [0, 1] first: LAB of an out-of-gamut "colour" is not defined by sRGB.

    >>> lab = rgb_to_lab(torch.tensor([1.0, 1.0, 1.0]).view(1, 3, 1, 1))
    >>> lab.shape, round(float(lab[0, 0, 0, 0]), 2), bool(abs(lab[0, 1:]).max() < 0.01)
    ((1, 3, 1, 1), 100.0, True)
    """
    from skimage.color import rgb2lab  # noqa: PLC0415 - heavy import, only needed here

    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"rgb_to_lab expects (B, 3, H, W) RGB images, got shape {tuple(images.shape)}")
    rgb = images.detach().to("cpu", torch.float32).clamp(0.0, 1.0).permute(0, 2, 3, 1).numpy()
    return np.ascontiguousarray(rgb2lab(rgb, channel_axis=-1).astype(np.float32, copy=False).transpose(0, 3, 1, 2))


def histogram_counts(values: np.ndarray, lo: float, width: float, bins: int) -> np.ndarray:
    """Counts of ``values`` in ``bins`` bins of ``width`` from ``lo``; values outside go to the end bins.

    >>> histogram_counts(np.array([-5.0, 0.1, 0.6, 0.9, 99.0]), 0.0, 0.5, 2).tolist()
    [2, 3]
    """
    idx = np.floor((np.asarray(values, dtype=np.float64).ravel() - lo) / width)
    idx = np.clip(idx, 0, bins - 1).astype(np.int64)
    return np.bincount(idx, minlength=bins)


def total_variation(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """``0.5 * sum |p - q|`` of two histograms after normalising each to sum 1.

    >>> total_variation(np.array([1, 1, 0]), np.array([0, 1, 1]))
    0.5
    """
    p = np.asarray(p_counts, dtype=np.float64)
    q = np.asarray(q_counts, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def nyquist_power_per_image(channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(power on the Nyquist rows and columns, total power) of each of (B, H, W) images, (B,) each.

    Each image's mean is removed first; see the module docstring for the definition.
    """
    x = np.asarray(channel, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"nyquist_power expects (B, H, W), got shape {x.shape}")
    _, h, w = x.shape
    if h < 2 or w < 2:
        raise ValueError(f"nyquist_power needs images of at least 2x2 pixels, got {h}x{w}")
    x = x - x.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(x)) ** 2
    mask = np.zeros((h, w), dtype=bool)
    mask[sorted({h // 2, (h + 1) // 2}), :] = True
    mask[:, sorted({w // 2, (w + 1) // 2})] = True
    return power[:, mask].sum(axis=1), power.sum(axis=(1, 2))


def nyquist_power(channel: np.ndarray) -> tuple[float, float]:
    """(power on the Nyquist rows and columns, total power) of (B, H, W) images, summed over images.

    Each image's mean is removed first; see the module docstring for the definition.

    >>> checker = np.indices((8, 8)).sum(0) % 2 * 1.0
    >>> nyq, total = nyquist_power(checker[None])
    >>> round(nyq / total, 6)
    1.0
    >>> smooth = np.tile(np.linspace(0, 1, 8), (8, 1))
    >>> nyq, total = nyquist_power(smooth[None])
    >>> bool(nyq / total < 0.05)
    True
    """
    nyq, total = nyquist_power_per_image(channel)
    return float(nyq.sum()), float(total.sum())


def per_image_histograms(values: np.ndarray, lo: float, width: float, bins: int) -> np.ndarray:
    """Counts (B, bins) of each image's values (B, ...), as :func:`histogram_counts` counts them.

    >>> per_image_histograms(np.array([[-1.0, 0.2], [0.7, 0.9]]), 0.0, 0.5, 2).tolist()
    [[2, 0], [0, 2]]
    """
    v = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    idx = np.clip(np.floor((v - lo) / width), 0, bins - 1).astype(np.int64)
    idx += np.arange(v.shape[0])[:, None] * bins
    return np.bincount(idx.ravel(), minlength=v.shape[0] * bins).reshape(v.shape[0], bins)


class _Accumulator:
    """Sums for one set of images (originals or one autoencoder's reconstructions)."""

    def __init__(self, config: LabConfig, paired: bool):
        self.hist = [np.zeros(config.bins_of(c), dtype=np.int64) for c in range(3)]
        self.nyquist = np.zeros(3)
        self.power = np.zeros(3)
        self.paired = paired
        self.diff = np.zeros(3)
        self.abs_diff = np.zeros(3)
        self.delta_e = 0.0
        self.pixels = 0
        self.images = 0


class LabStatistics:
    """Streaming LAB statistics of several autoencoders' reconstructions against the originals.

    Call :meth:`update` with each batch of originals and the reconstructions of every autoencoder, then
    :meth:`result` for the ``"lab"`` entry of ``results.json`` (keys in the module docstring).

    >>> stats = LabStatistics(["A_S"])
    >>> x = torch.rand(4, 3, 8, 8)
    >>> stats.update(x, {"A_S": x})
    >>> r = stats.result()["A_S"]
    >>> r["total_change"], r["hist_distance"]["b"], r["mean_shift"]["a"]
    (0.0, 0.0, 0.0)
    """

    def __init__(self, names: Sequence[str], config: LabConfig | None = None, *, per_image: bool = False):
        self.config = config or LabConfig()
        self.names = list(names)
        self._original = _Accumulator(self.config, paired=False)
        self._recon = {name: _Accumulator(self.config, paired=True) for name in self.names}
        # per_image: each image's contribution to every sum above, kept for the bootstrap
        # (repro.per_image, :meth:`per_image_record`); lists of per-batch arrays.
        self.per_image = per_image
        self._rows: dict[str, list[np.ndarray]] = {name: [] for name in ["original", *self.names]}
        self._l_hist: dict[str, list[np.ndarray]] = {name: [] for name in ["original", *self.names]}
        self._pixels: int | None = None

    def _add_distribution(self, acc: _Accumulator, lab: np.ndarray, name: str) -> np.ndarray:
        """Add a batch's histograms and Nyquist power; returns its per-image (nyquist, power) columns."""
        cfg = self.config
        columns = np.zeros((lab.shape[0], 6))
        for c in range(3):
            lo, _ = cfg.range_of(c)
            acc.hist[c] += histogram_counts(lab[:, c], lo, cfg.bin_width, cfg.bins_of(c))
            nyq, total = nyquist_power_per_image(lab[:, c])
            acc.nyquist[c] += float(nyq.sum())
            acc.power[c] += float(total.sum())
            columns[:, c], columns[:, 3 + c] = nyq, total
        acc.images += lab.shape[0]
        if self.per_image:
            lo, _ = cfg.l_range
            hist = per_image_histograms(lab[:, 0], lo, cfg.bin_width, cfg.bins_of(0))
            self._l_hist[name].append(hist.astype(np.uint16 if hist.max(initial=0) <= 65535 else np.uint32))
        return columns

    def update(self, originals: torch.Tensor, reconstructions: Mapping[str, torch.Tensor]) -> None:
        """Add one batch: originals (B, 3, H, W) in [0, 1] and each autoencoder's reconstructions of them."""
        missing = set(self.names) - set(reconstructions)
        if missing:
            raise ValueError(f"LabStatistics.update: no reconstructions for {sorted(missing)}")
        pixels = originals.shape[2] * originals.shape[3]
        if self.per_image:
            if self._pixels not in (None, pixels):
                raise ValueError(f"LabStatistics: per-image values need one image size, got {pixels} and {self._pixels} pixels")
            self._pixels = pixels
        # Per-image power is kept per pixel squared (Parseval: the power of an image is pixels^2 times
        # its variance), so that its scale does not grow with the image size; ratios are unchanged.
        norm = float(pixels) ** 2
        lab_x = rgb_to_lab(originals)  # once per batch, shared by every autoencoder
        spectrum_x = self._add_distribution(self._original, lab_x, "original")
        if self.per_image:
            self._rows["original"].append(spectrum_x / norm)
        for name in self.names:
            recon = reconstructions[name]
            if recon.shape != originals.shape:
                raise ValueError(f"{name}: reconstruction shape {tuple(recon.shape)} != {tuple(originals.shape)}")
            lab_r = rgb_to_lab(recon)
            acc = self._recon[name]
            spectrum = self._add_distribution(acc, lab_r, name)
            d = lab_r.astype(np.float64) - lab_x
            diff, abs_diff = d.sum(axis=(2, 3)), np.abs(d).sum(axis=(2, 3))  # (B, 3)
            delta_e = np.sqrt((d**2).sum(axis=1)).sum(axis=(1, 2))  # (B,)
            acc.diff += diff.sum(axis=0)
            acc.abs_diff += abs_diff.sum(axis=0)
            acc.delta_e += float(delta_e.sum())
            acc.pixels += d.shape[0] * d.shape[2] * d.shape[3]
            if self.per_image:  # columns in the order of repro.per_image.LAB_COLUMNS
                self._rows[name].append(np.concatenate([diff / pixels, abs_diff / pixels, delta_e[:, None] / pixels,
                                                        spectrum / norm], axis=1))

    def per_image_record(self) -> dict[str, Any]:
        """The ``per_image.lab`` section of results.json (layout in :mod:`repro.results`): per bootstrap
        unit (a pair of consecutive images), the sum of its images' per-pixel means and power, and the
        counts of its L histogram in the tail windows around the 1st and 99th percentiles."""
        if not self.per_image:
            raise ValueError("LabStatistics: per-image values were not kept (per_image=False)")
        if self._original.images == 0:
            raise ValueError("LabStatistics.per_image_record: no images were added")
        cfg = self.config
        lo, _ = cfg.l_range
        units = n_units(self._original.images)
        sums, tails = {}, {}
        for name, rows in self._rows.items():
            sums[name] = encode_array(unit_sums(np.concatenate(rows), units))
            hist = unit_sums(np.concatenate(self._l_hist[name]).astype(np.int64), units)
            pooled = (self._original if name == "original" else self._recon[name]).hist[0]
            tails[name] = encode_tails(hist, tail_windows(pooled, lo, cfg.bin_width))
        return {"columns": list(LAB_COLUMNS), "original_columns": list(LAB_ORIGINAL_COLUMNS),
                "pixels_per_image": int(self._pixels or 0), "L_histogram": [lo, cfg.bin_width, cfg.bins_of(0)],
                "sums": sums, "L_tails": tails}

    def _luminance(self, acc: _Accumulator) -> tuple[float, float]:
        cfg = self.config
        lo, _ = cfg.l_range
        p_lo = histogram_percentile(acc.hist[0], lo, cfg.bin_width, cfg.low_percentile)
        p_hi = histogram_percentile(acc.hist[0], lo, cfg.bin_width, cfg.high_percentile)
        return p_lo, p_hi

    @staticmethod
    def _share(acc: _Accumulator) -> dict[str, float]:
        return {ch: float(acc.nyquist[c] / acc.power[c]) if acc.power[c] > 0 else 0.0 for c, ch in enumerate(CHANNELS)}

    def result(self) -> dict[str, dict[str, Any]]:
        """The ``"lab"`` entry: one dict per autoencoder (keys in the module docstring)."""
        if self._original.images == 0:
            raise ValueError("LabStatistics.result: no images were added")
        x_lo, x_hi = self._luminance(self._original)
        x_share = self._share(self._original)
        out: dict[str, dict[str, Any]] = {}
        for name in self.names:
            acc = self._recon[name]
            r_lo, r_hi = self._luminance(acc)
            out[name] = {
                "hist_distance": {
                    ch: total_variation(acc.hist[c], self._original.hist[c]) for c, ch in enumerate(CHANNELS)
                },
                "mean_shift": {ch: float(acc.diff[c] / acc.pixels) for c, ch in enumerate(CHANNELS)},
                "mean_abs_diff": {ch: float(acc.abs_diff[c] / acc.pixels) for c, ch in enumerate(CHANNELS)},
                "total_change": float(acc.delta_e / acc.pixels),
                "L_p01": r_lo,
                "L_p99": r_hi,
                "L_range": r_hi - r_lo,
                "L_p01_original": x_lo,
                "L_p99_original": x_hi,
                "L_range_original": x_hi - x_lo,
                "checkerboard": self._share(acc),
                "checkerboard_original": dict(x_share),
                "n_images": acc.images,
            }
        return out
