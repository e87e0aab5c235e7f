"""Per-image values in ``results.json`` and the paired bootstrap that re-weights them.

Every claim gets its interval and its support by being re-run on bootstrap resamples of the test
images (:func:`repro.claims.core.evaluate`). For that, ``results.json`` stores, beside each aggregate
the claims read, the per-image values it is the mean (or the ratio of sums) of: top-1 and top-5
correctness, correctness at each noise level, the mutual information and entropies behind intra- and
inter-nMI and their chance baseline, and each image's contribution to the LAB statistics.
:class:`PerImage` decodes them once; :func:`resample` then recomputes every aggregate under one vector
of bootstrap weights, the same weights for every quantity (a paired bootstrap: a resample that drops
an image drops it from the accuracies, the noise curves, the nMI and the LAB statistics alike).

**The resampling unit** is a pair of consecutive test images ``(2u, 2u + 1)`` (the last unit of an
odd test set holds one image). These are the pairs of inter-nMI (Sec. 3.5, repro.analysis.nmi), so a
unit weight applies to per-image and per-pair values alike; for independent images, resampling blocks
of two gives a mean the same expected bootstrap variance as resampling single images.
Weights are one number per unit (``n_units = ceil(n_test / 2)``); the noise sweep's images are the
first ``noise.n_images`` test images, i.e. the first units.

**Exactness.** Every per-unit value is held as an integer (correctness counts, pixel counts, and
quantised or fixed-point values), so its weighted sum under integer (bootstrap) weights is exact and
does not depend on the summation order. Accuracies and noise curves are recomputed outright from the
bits. The other quantities are stored quantised (below), so their recomputation differs from the
exact aggregate in ``results.json`` by the quantisation; a resample therefore reports ``stored +
(f(weighted) - f(unit weights))``: exactly the stored value under unit weights, and moved as the
stored per-image values move it. The quantisation changes a resampled mean by at most one step (half
in each term), and under bootstrap weights by about a step over sqrt(n_units): at the cpu scale a
hundredth of a step, against a bootstrap spread of thousands of steps.

**Encoding** (``per_image`` of ``results.json``, schema_version 2): correctness as bits
(:func:`encode_bits`); arrays as :func:`encode_array` records ``{"dtype", "shape", "zlib_base64"}``
(little-endian unsigned integers, zlib-compressed, base64), with ``"offset"`` and ``"step"`` for
quantised floats (value = offset + step * integer, 16 bits over each column's own range). Size,
measured on the cpu scale's layout (10,000 CIFAR-10 test images, five classifiers, A_S and five A_i,
1,000 noise images, stub models): results.json 2.2 MB, of which LAB 1.35 MB (per-unit sums 1.0, L
tail windows 0.33), nMI 0.67 MB, correctness bits 0.17 MB; schema 1 held 0.09 MB. The committed cpu
run's per-image block is 2.39 MB as JSON text, 1.77 MB as the gzip side file that
:func:`repro.results.write_results_json` stores it in (lzma: 1.77 MB too, so gzip, which every
system reads).
"""

from __future__ import annotations

import base64
import math
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


UNIT = 2  # test images per resampling unit (an inter-nMI pair)
QUANT_BITS = 16  # quantised floats: 65,536 levels over the array's own range
# Per-image nMI values (a nonlinear function of the stored MI and entropies) are summed per unit in
# this fixed point: integers, so that sums under integer weights are exact (a unit holds at most
# 2 * 2**30; bootstrap weights sum to the number of units, so a weighted sum stays below 2**31 times
# that, 5e13 for the paper scale's 25,000 units, far below 2**53).
FIXED_POINT = 2.0**30
CHUNK = 64  # resamples whose sums one matrix product computes (M @ W.T): BLAS-3 instead of 64 matvecs

NMI_AVERAGES = ("arithmetic", "geometric", "min", "max")

# LAB: the per-unit sums stored for each autoencoder (each image's per-pixel mean, summed over the
# unit's images; the checkerboard's Nyquist and total power per image, normalised by (H W)^2), and for
# the originals. Keys of repro.colour's statistics are ratios of their sums.
LAB_COLUMNS = (
    "diff_L", "diff_a", "diff_b",  # recon - original
    "abs_L", "abs_a", "abs_b",  # |recon - original|
    "delta_e",  # CIE76 colour difference
    "nyquist_L", "nyquist_a", "nyquist_b", "power_L", "power_a", "power_b",
)
LAB_ORIGINAL_COLUMNS = ("nyquist_L", "nyquist_a", "nyquist_b", "power_L", "power_a", "power_b")
CHANNELS = ("L", "a", "b")


# --- encodings ------------------------------------------------------------------------------------


def encode_bits(correct: Any) -> str:
    """Pack a boolean vector as base64 text (the ``per_image`` encoding of correctness).

    >>> decode_bits(encode_bits(np.array([True, False, True])), 3).tolist()
    [True, False, True]
    """
    packed = np.packbits(np.asarray(correct, dtype=bool).ravel(), bitorder="little")
    return base64.b64encode(packed.tobytes()).decode("ascii")


def decode_bits(text: str, n: int) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:n].astype(bool)


def _uint_dtype(maximum: int) -> np.dtype:
    for dt in (np.uint8, np.uint16, np.uint32):
        if maximum <= np.iinfo(dt).max:
            return np.dtype(dt).newbyteorder("<")
    return np.dtype(np.uint64).newbyteorder("<")


def _pack(q: np.ndarray) -> dict[str, Any]:
    dt = _uint_dtype(int(q.max()) if q.size else 0)
    data = zlib.compress(np.ascontiguousarray(q, dtype=dt).tobytes(), 9)
    return {"dtype": dt.name, "shape": list(q.shape), "zlib_base64": base64.b64encode(data).decode("ascii")}


def encode_counts(counts: Any) -> dict[str, Any]:
    """Non-negative integers, exactly.

    >>> decode_array(encode_counts([[0, 3], [70000, 1]]))[0].tolist()
    [[0, 3], [70000, 1]]
    """
    q = np.asarray(counts)
    if q.size and (q.min() < 0 or not np.issubdtype(q.dtype, np.integer)):
        raise ValueError("encode_counts: expects non-negative integers")
    return _pack(q.astype(np.int64))


def encode_array(values: Any, *, nonnegative: bool = False) -> dict[str, Any]:
    """Floats quantised to 16 bits over their own range: value = offset + step * integer. A 2-D array
    is quantised column by column (its columns are different quantities with different ranges), and
    ``offset`` and ``step`` are then lists, one per column.

    ``nonnegative``: offset 0, so that an exact 0 (a constant image's entropy) stays exactly 0.

    >>> q, offset, step = decode_array(encode_array(np.array([0.0, 0.25, 1.0]), nonnegative=True))
    >>> q.tolist(), float(offset + step * q[1])
    ([0, 16384, 65535], 0.2500038147554742)
    >>> q, offset, step = decode_array(encode_array(np.array([[0.0, 100.0], [1.0, 300.0]])))
    >>> (offset + step * q).tolist(), step.tolist()
    ([[0.0, 100.0], [1.0, 300.0]], [1.5259021896696422e-05, 0.0030518043793392844])
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim not in (1, 2):
        raise ValueError(f"encode_array: expects a vector or a matrix, got shape {v.shape}")
    if v.size and not np.isfinite(v).all():
        raise ValueError("encode_array: values must be finite")
    if nonnegative and v.size and v.min() < 0:
        raise ValueError("encode_array: nonnegative values expected")
    cols = v.reshape(v.shape[0], -1)
    levels = 2**QUANT_BITS - 1
    lo = np.zeros(cols.shape[1]) if nonnegative or not v.size else cols.min(axis=0)
    hi = cols.max(axis=0) if v.size else np.zeros(cols.shape[1])
    step = np.where(hi > lo, (hi - lo) / levels, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(step > 0, np.rint((cols - lo) / np.where(step > 0, step, 1.0)), 0.0)
    q = np.clip(q, 0, levels).astype(np.int64).reshape(v.shape)
    if v.ndim == 1:
        return {**_pack(q), "offset": float(lo[0]), "step": float(step[0])}
    return {**_pack(q), "offset": lo.tolist(), "step": step.tolist()}


def decode_array(record: Mapping[str, Any]) -> tuple[np.ndarray, Any, Any]:
    """(integers as int64, offset, step) of an :func:`encode_array` / :func:`encode_counts` record;
    counts have offset 0 and step 1; a matrix's offset and step are arrays, one per column."""
    dt = np.dtype(record["dtype"]).newbyteorder("<")
    raw = zlib.decompress(base64.b64decode(record["zlib_base64"]))
    q = np.frombuffer(raw, dtype=dt).astype(np.int64).reshape(record["shape"])
    offset, step = record.get("offset", 0.0), record.get("step", 1.0)
    if isinstance(offset, list):
        return q, np.asarray(offset, dtype=np.float64), np.asarray(step, dtype=np.float64)
    return q, float(offset), float(step)


def dequantised(record: Mapping[str, Any]) -> np.ndarray:
    q, offset, step = decode_array(record)
    return offset + step * q


def unit_sums(per_image: np.ndarray, n_units: int) -> np.ndarray:
    """Sum per-image rows (first axis) over the resampling units (pairs of consecutive images).

    >>> unit_sums(np.array([1, 2, 3, 4, 5]), 3).tolist()
    [3, 7, 5]
    """
    a = np.asarray(per_image)
    out = np.zeros((n_units, *a.shape[1:]), dtype=np.result_type(a.dtype, np.int64) if a.dtype.kind in "biu" else a.dtype)
    np.add.at(out, np.arange(a.shape[0]) // UNIT, a)
    return out


def n_units(n_images: int) -> int:
    """
    >>> n_units(10000), n_units(7)
    (5000, 4)
    """
    return (int(n_images) + UNIT - 1) // UNIT


def bootstrap_weights(units: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Multinomial bootstrap weights over ``units`` (float64 integer counts summing to ``units``)."""
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        yield np.bincount(rng.integers(0, units, size=units), minlength=units).astype(np.float64)


# --- nMI from stored statistics -------------------------------------------------------------------


def normalised_mi(mi: np.ndarray, hx: np.ndarray, hy: np.ndarray, average: str) -> np.ndarray:
    """nMI from MI and the two entropies, with repro.analysis.nmi's (scikit-learn's) rules for
    degenerate images: both constant (both entropies 0) -> 1; otherwise MI 0 or a zero normaliser -> 0.

    >>> normalised_mi(np.array([0.5, 0.0, 0.0]), np.array([1.0, 0.0, 0.0]), np.array([1.0, 1.0, 0.0]), "arithmetic").tolist()
    [0.5, 0.0, 1.0]
    """
    mi, hx, hy = (np.asarray(a, dtype=np.float64) for a in (mi, hx, hy))
    if average == "arithmetic":
        norm = (hx + hy) / 2
    elif average == "geometric":
        norm = np.sqrt(hx * hy)
    elif average == "min":
        norm = np.minimum(hx, hy)
    elif average == "max":
        norm = np.maximum(hx, hy)
    else:
        raise ValueError(f"normalised_mi: unknown average {average!r}")
    both_constant = (hx == 0) & (hy == 0)
    zero = ~both_constant & ((hx == 0) | (hy == 0) | (mi == 0) | (norm <= 0))
    safe = np.where(zero | both_constant, 1.0, norm)
    out = np.clip(mi / safe, 0.0, 1.0)
    return np.where(both_constant, 1.0, np.where(zero, 0.0, out))


# --- the decoded data -----------------------------------------------------------------------------

# A quantity is a ratio of two linear forms over the rows of PerImage.matrix, each of two terms
# (row, coefficient): e.g. (sum of w * correct) / (sum of w * images), or for a quantised LAB sum
# (offset * sum(w) + step * sum(w q)) / (sum of w * images). Two terms each, so that the coefficients
# are applied elementwise (deterministic), never by a BLAS product whose summation order could vary.
Term = tuple[int, float]
_NONE: Term = (0, 0.0)


@dataclass(frozen=True)
class _Tail:
    first_bin: int
    columns: list[int]  # matrix rows: [outside count, window bin counts...]
    side: str  # "low" (outside = below the window) or "high" (outside = above it)


class _Quantities:
    """Ratios to recompute, vectorised over resamples: value = num / den, and, where ``stored`` is
    given, ``stored + (num / den - its value under unit weights)`` (the centring of the module doc)."""

    def __init__(self) -> None:
        self.num: list[tuple[Term, Term]] = []
        self.den: list[tuple[Term, Term]] = []
        self.stored: list[float] = []
        self.centred: list[bool] = []

    def add(self, num: tuple[Term, ...], den: tuple[Term, ...], stored: float | None = None) -> int:
        pad = lambda form: (tuple(form) + (_NONE, _NONE))[:2]  # noqa: E731
        self.num.append(pad(num))
        self.den.append(pad(den))
        self.stored.append(math.nan if stored is None else float(stored))
        self.centred.append(stored is not None)
        return len(self.num) - 1

    def freeze(self, ones: np.ndarray) -> None:
        def cols(forms, k):
            return (np.array([f[k][0] for f in forms], dtype=np.int64), np.array([f[k][1] for f in forms]))

        self._num = [cols(self.num, 0), cols(self.num, 1)]
        self._den = [cols(self.den, 0), cols(self.den, 1)]
        self._stored = np.array(self.stored)
        self._centred = np.array(self.centred, dtype=bool)
        self._ones = self.ratios(ones[None, :])[0]

    def ratios(self, s: np.ndarray) -> np.ndarray:
        (na, ca), (nb, cb) = self._num
        (da, ea), (db, eb) = self._den
        num = s[:, na] * ca + s[:, nb] * cb
        den = s[:, da] * ea + s[:, db] * eb
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    def values(self, s: np.ndarray) -> np.ndarray:
        r = self.ratios(s)
        return np.where(self._centred, self._stored + (r - self._ones), r)


class PerImage:
    """The per-image values of one results.json as integer rows over the resampling units, and the
    aggregates they make (:class:`_Quantities`), recomputed for a batch of weight vectors at once.

    ``gaps`` names the sections that have no per-image values (a schema-1 file, a run without noise
    sweep) and why; resamples leave those sections out.
    """

    def __init__(self, n_test: int):
        self.n_test = int(n_test)
        self.n_units = n_units(self.n_test)
        self._rows: list[np.ndarray] = []
        self._noise_rows: list[np.ndarray] = []
        self.noise_units = 0
        self.gaps: dict[str, str] = {}
        self.main = _Quantities()
        self.noise_q = _Quantities()
        # where each recomputed value goes: nested dicts of quantity indices, shaped like results.json
        self.top: dict[str, dict[str, dict[str, int]]] = {}
        self.noise: dict[str, dict[str, dict[str, list[int]]]] = {}
        self.nmi: dict[str, dict[str, dict[str, dict[str, int]]]] = {}  # "raw"/"baseline" -> kind -> avg -> name
        self.lab: dict[str, dict[str, Any]] = {}  # name -> key -> index or {channel: index}
        self.tails: list[tuple[str, str, _Tail, float, float]] = []  # (name, key, tail, q, stored)
        self.lab_bins: tuple[float, float, int] = (0.0, 0.5, 200)  # L histogram: lo, width, bins
        self.pixels = 0  # pixels per image (samples of the L channel)
        self.size = self._add(unit_sums(np.ones(self.n_test, dtype=np.int64), self.n_units))  # images per unit
        self.units = self._add(np.ones(self.n_units, dtype=np.int64))  # 1 per unit (offsets of quantised values)
        pairs = np.zeros(self.n_units, dtype=np.int64)
        pairs[: self.n_test // UNIT] = 1  # units holding an inter-nMI pair
        self.pairs = self._add(pairs)
        self.matrix = np.zeros((0, self.n_units))
        self.noise_matrix = np.zeros((0, 0))

    # building

    def _add(self, row: np.ndarray) -> int:
        row = np.asarray(row)
        if row.dtype.kind not in "biu":
            raise TypeError("per-unit rows are integers, so that weighted sums are exact")
        self._rows.append(row.astype(np.float64))
        return len(self._rows) - 1

    def _add_noise(self, row: np.ndarray) -> int:
        self._noise_rows.append(np.asarray(row, dtype=np.int64).astype(np.float64))
        return len(self._noise_rows) - 1

    @classmethod
    def decode(cls, data: Mapping[str, Any]) -> "PerImage":
        """From a whole results.json dict (any schema version) that has ``per_image`` and ``n_test``."""
        n_test = int(data["n_test"])
        per_image = data["per_image"]
        version = int(data.get("schema_version", 1))
        self = cls(n_test)
        old = "written before per-image values were stored for it (results.json schema_version 1)"
        size = ((self.size, 1.0),)
        for metric in ("top1", "top5"):
            table = per_image.get(metric)
            cells = {(ae, c) for ae, row in (data["accuracy"].get(metric) or {}).items() for c in row}
            if not table:
                self.gaps[f"accuracy.{metric}"] = old if version < 2 else "no per-image correctness stored"
                continue
            missing = cells - {(ae, c) for ae, row in table.items() for c in row}
            if missing:
                self.gaps[f"accuracy.{metric}"] = f"no per-image correctness for {len(missing)} of its accuracies"
                continue
            self.top[metric] = {
                ae: {c: self.main.add(((self._add(unit_sums(decode_bits(bits, n_test).astype(np.int64), self.n_units)), 1.0),),
                                      size) for c, bits in row.items()}
                for ae, row in table.items()
            }
        self._decode_noise(per_image.get("noise"), data.get("noise"), old if version < 2 else "the run had no noise sweep")
        self._decode_nmi(per_image.get("nmi"), data.get("nmi"), old if version < 2 else "the run measured no nMI")
        self._decode_lab(per_image.get("lab"), data.get("lab"), old if version < 2 else "the run measured no LAB statistics")
        self.matrix = np.stack(self._rows)
        self.noise_matrix = np.stack(self._noise_rows) if self._noise_rows else np.zeros((0, self.noise_units))
        self._rows, self._noise_rows = [], []
        main, noise = self.sums(np.ones((1, self.n_units)))
        self.ones, self.noise_ones = main, noise
        self.main.freeze(main[0])
        self.noise_q.freeze(noise[0] if noise.size else np.zeros(1))
        self._tail_ones = self._percentiles(main)[0] if self.tails else np.zeros(0)
        return self

    def _decode_noise(self, section: Mapping[str, Any] | None, stored: Mapping[str, Any] | None, why: str) -> None:
        if not section or not stored:
            self.gaps["noise"] = why
            return
        m = int(section["n_images"])
        levels = int(section["levels"])
        self.noise_units = n_units(m)
        size = ((self._add_noise(unit_sums(np.ones(m, dtype=np.int64), self.noise_units)), 1.0),)
        for metric in ("top1", "top5"):
            self.noise[metric] = {}
            for g, row in (section.get(metric) or {}).items():
                self.noise[metric][g] = {}
                for c, bits in row.items():
                    b = decode_bits(bits, levels * m).reshape(levels, m).astype(np.int64)
                    self.noise[metric][g][c] = [self.noise_q.add(((self._add_noise(unit_sums(b[li], self.noise_units)), 1.0),),
                                                                 size) for li in range(levels)]

    def _decode_nmi(self, section: Mapping[str, Any] | None, stored: Mapping[str, Any] | None, why: str) -> None:
        if not section or not stored or "baseline" not in stored:
            self.gaps["nmi"] = why
            return
        entropy = {name: dequantised(rec) for name, rec in section["entropy"].items()}
        per = {"intra": ((self.size, 1.0),), "inter": ((self.pairs, 1.0),)}
        for kind in ("intra", "inter"):
            mi = {name: dequantised(rec) for name, rec in section[kind]["mi"].items()}
            shuffled = {name: dequantised(rec) for name, rec in section[kind]["mi_shuffled"].items()}
            for name in mi:
                h = entropy[name]
                if kind == "intra":  # nMI(x, A(x)): the original's entropy and the reconstruction's
                    hx, hy = entropy["original"], h
                else:  # pair p: images 2p and 2p + 1 of the same set
                    p = mi[name].shape[0]
                    hx, hy = h[0 : 2 * p : 2], h[1 : 2 * p : 2]
                for average in NMI_AVERAGES:
                    for which, values in (("raw", mi[name]), ("baseline", shuffled[name])):
                        v = np.rint(normalised_mi(values, hx, hy, average) * FIXED_POINT).astype(np.int64)
                        # intra: one value per image, summed per unit; inter: one per unit (its pair)
                        row = unit_sums(v, self.n_units) if kind == "intra" else np.pad(v, (0, self.n_units - v.shape[0]))
                        plain = (stored[kind] if which == "raw" else stored["baseline"][kind])[average][name]
                        index = self.main.add(((self._add(row), 1.0 / FIXED_POINT),), per[kind], plain)
                        self.nmi.setdefault(which, {}).setdefault(kind, {}).setdefault(average, {})[name] = index

    def _decode_lab(self, section: Mapping[str, Any] | None, stored: Mapping[str, Any] | None, why: str) -> None:
        if not section or not stored:
            self.gaps["lab"] = why
            return
        self.pixels = int(section["pixels_per_image"])
        lo, width, bins = section["L_histogram"]
        self.lab_bins = (float(lo), float(width), int(bins))
        forms: dict[str, dict[str, tuple[Term, Term]]] = {}
        for name, rec in section["sums"].items():
            q, offset, step = decode_array(rec)
            columns = section["original_columns"] if name == "original" else section["columns"]
            offset, step = np.broadcast_to(offset, q.shape[1:]), np.broadcast_to(step, q.shape[1:])  # one or per column
            # a unit's value is offset + step * q: its weighted sum is offset * sum(w) + step * sum(w q)
            forms[name] = {col: ((self.units, float(offset[j])), (self._add(q[:, j]), float(step[j])))
                           for j, col in enumerate(columns)}
        tails: dict[str, dict[str, _Tail]] = {}
        for name, sides in section["L_tails"].items():
            tails[name] = {}
            for side, rec in sides.items():
                q, _, _ = decode_array(rec["counts"])
                tails[name][side] = _Tail(int(rec["first_bin"]), [self._add(q[:, j]) for j in range(q.shape[1])], side)
        size = ((self.size, 1.0),)
        orig = forms.get("original")
        for name, stats in stored.items():
            f = forms.get(name)
            if f is None or not isinstance(stats, dict) or name not in tails:
                continue
            add = self.main.add
            entry: dict[str, Any] = {
                "mean_shift": {ch: add(f[f"diff_{ch}"], size, stats["mean_shift"][ch]) for ch in CHANNELS},
                "mean_abs_diff": {ch: add(f[f"abs_{ch}"], size, stats["mean_abs_diff"][ch]) for ch in CHANNELS},
                "total_change": add(f["delta_e"], size, stats["total_change"]),
                "checkerboard": {ch: add(f[f"nyquist_{ch}"], f[f"power_{ch}"], stats["checkerboard"][ch]) for ch in CHANNELS},
            }
            if orig is not None:
                entry["checkerboard_original"] = {ch: add(orig[f"nyquist_{ch}"], orig[f"power_{ch}"],
                                                          stats["checkerboard_original"][ch]) for ch in CHANNELS}
            self.lab[name] = entry
            for key, tail_of, side, q in (("L_p01", name, "low", 1.0), ("L_p99", name, "high", 99.0),
                                          ("L_p01_original", "original", "low", 1.0),
                                          ("L_p99_original", "original", "high", 99.0)):
                if tail_of in tails:
                    self.tails.append((name, key, tails[tail_of][side], q, float(stats[key])))

    # resampling

    def sums(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted sums of every row, (R, rows), for R weight vectors ``weights`` (R, n_units), and the
        same for the noise rows (over the first ``noise_units`` units). Exact for integer weights."""
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        if w.ndim != 2 or w.shape[1] != self.n_units:
            raise ValueError(f"resample: weights of shape {w.shape} for {self.n_units} units (pairs of test images)")
        # (M @ W.T).T: the row-major matrix as BLAS's left operand, measured 2x faster than W @ M.T here
        main = (self.matrix @ w.T).T
        noise = (self.noise_matrix @ w[:, : self.noise_units].T).T if self.noise_matrix.size else np.zeros((w.shape[0], 0))
        return main, noise

    def _percentiles(self, s: np.ndarray) -> np.ndarray:
        """(R, tails): each stored L percentile from the weighted counts of its window, computed as
        histogram_percentile computes it on the whole histogram (the cumulative counts
        inside the window are the whole histogram's); NaN where it leaves the window (tail_windows)."""
        lo, width, _ = self.lab_bins
        total = s[:, self.size] * self.pixels
        out = np.empty((s.shape[0], len(self.tails)))
        for k, (_, _, tail, q, _) in enumerate(self.tails):
            outside = s[:, tail.columns[0]]
            window = s[:, tail.columns[1:]]
            inside_sum = window.sum(axis=1)
            below = outside if tail.side == "low" else total - outside - inside_sum
            target = total * q / 100.0
            cdf = below[:, None] + np.cumsum(window, axis=1)
            i = np.minimum((cdf < target[:, None]).sum(axis=1), window.shape[1] - 1)  # searchsorted(cdf, target, "left")
            r = np.arange(s.shape[0])
            prev = np.where(i > 0, cdf[r, np.maximum(i - 1, 0)], below)
            count = window[r, i]
            with np.errstate(invalid="ignore", divide="ignore"):
                inside = np.where(count > 0, (target - prev) / np.where(count > 0, count, 1.0), 0.0)
            value = lo + width * ((tail.first_bin + i) + inside)
            out[:, k] = np.where((below < target) & (target <= below + inside_sum), value, np.nan)
        return out

    def values(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every recomputed quantity for R weight vectors: (main, noise, tails), (R, ...) each."""
        main, noise = self.sums(weights)
        tails = np.zeros((main.shape[0], 0))
        if self.tails:
            stored = np.array([t[4] for t in self.tails])
            tails = stored + (self._percentiles(main) - self._tail_ones)
        return self.main.values(main), self.noise_q.values(noise) if noise.size else noise, tails


def histogram_percentile(counts: np.ndarray, lo: float, width: float, q: float) -> float:
    """The ``q``-th percentile (0-100) of the values counted in ``counts``, linear inside a bin.

    >>> histogram_percentile(np.array([0, 10, 10, 0]), 0.0, 1.0, 50)
    2.0
    >>> histogram_percentile(np.array([0, 10, 10, 0]), 0.0, 1.0, 25)
    1.5
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return float("nan")
    target = total * q / 100.0
    cdf = np.cumsum(counts)
    i = int(np.searchsorted(cdf, target, side="left"))
    i = min(i, len(counts) - 1)
    below = cdf[i - 1] if i > 0 else 0.0
    inside = (target - below) / counts[i] if counts[i] > 0 else 0.0
    return float(lo + width * (i + inside))


def tail_windows(hist: np.ndarray, lo: float, width: float) -> dict[str, tuple[int, int]]:
    """The bins [first, last] of the pooled L histogram ``hist`` that each tail stores: from the
    0.5th to the 2nd percentile (low) and from the 98th to the 99.5th (high). The 1st and 99th
    percentiles of a resample leave these only if the resample halves or doubles the mass of a tail,
    which a bootstrap of more than a few dozen images does not do; where it does, the percentile is NaN
    (never a wrong number)."""
    def bin_of(q: float) -> int:
        return min(len(hist) - 1, max(0, int(math.floor((histogram_percentile(hist, lo, width, q) - lo) / width))))

    return {"low": (bin_of(0.5), bin_of(2.0)), "high": (bin_of(98.0), bin_of(99.5))}


def encode_tails(per_unit_hist: np.ndarray, windows: Mapping[str, tuple[int, int]]) -> dict[str, Any]:
    """Per-unit counts of one set's L histogram (units, bins) restricted to the tail windows, with the
    count beyond each window (below the low one, above the high one)."""
    out = {}
    for side, (a, b) in windows.items():
        window = per_unit_hist[:, a : b + 1]
        outside = per_unit_hist[:, :a].sum(1) if side == "low" else per_unit_hist[:, b + 1 :].sum(1)
        out[side] = {"first_bin": int(a), "counts": encode_counts(np.concatenate([outside[:, None], window], 1))}
    return out
