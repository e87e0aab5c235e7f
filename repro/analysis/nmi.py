"""Normalized mutual information between images (Sec. 3.5, Figs. 8 and 9 of the paper).

intra-nMI(x, A) = nMI(x, A(x)) per image; inter-nMI(x1, x2, A) = nMI(A(x1), A(x2)) over consecutive
pairs of images. The paper states neither how pixels are discretised nor which normalisation it uses;
this module decides as follows.

Samples. The samples of one image are its pixel values, all channels together (C*H*W samples), as
values in [0, 1] (un-normalise inputs first; reconstructions outside [0, 1] are clamped, as they would
be when saved as an image). Pixel positions pair the samples of two images.

Discretisation. Each value is quantised to ``bins`` equal-width levels of [0, 1]: level
``floor(v * bins)``, with 1.0 in the top level. With ``bins`` dividing 256, an 8-bit pixel value ``p``
(``v = p / 255``) lands in level ``p // (256 // bins)``. The default is ``bins = 64`` rather than 256
because the plug-in (histogram) estimate of MI is biased upwards by about (K_x - 1)(K_y - 1) / (2N)
nats for K occupied levels and N samples: at CIFAR size (N = 32*32*3 = 3,072) a 256 x 256 joint
histogram has 65,536 cells for 3,072 samples and is mostly empty. Measured with this module (mean
arithmetic nMI, random draws with seed 0): 500 pairs of *unrelated* CIFAR-10 test images give 0.449 with
256 bins, 0.149 with 64 and 0.058 with 16; uniform-noise pairs (true MI = 0) give 0.547, 0.173 and
0.013 at 32 x 32 x 3, and 0.044, 0.003 and 0.000 at 224 x 224 x 3. An image against a copy with
Gaussian noise (sigma 0.05) gives 0.499 at 256 bins, barely above unrelated images (0.449); at 64 bins
it is 0.384 against 0.149. 64 bins cuts the bias to a third while keeping 6 bits of intensity
resolution, so the small colour and luminance shifts of Sec. 3.3.1 still move pixels across levels
(16 bins separates the two cases further, 0.501 against 0.058, but at 4 bits); pass ``bins`` to study
the choice.

Normalisation. ``average`` is the mean of the two entropies that divides MI, as scikit-learn's
``normalized_mutual_info_score(..., average_method=...)``: "arithmetic" (scikit-learn's default and
ours), "geometric", "min" or "max". The paper says its order of AEs holds "regardless of the variant of
nMI used"; :func:`nmi_all` gives all four from one histogram.

Degenerate images (after quantisation) follow scikit-learn exactly: two images that are each constant
(a single occupied level) have nMI 1; if only one of them is constant, or MI is 0, nMI is 0. Results
are clamped to [0, 1] (rounding can otherwise give 1 + 1e-16); they agree with scikit-learn on the
same quantised pixels to about 1e-12.

The chance baseline. At CIFAR size the plug-in nMI of two images that share nothing is far
from 0 (0.173 for noise pairs above), and the cpu run's inter-nMI (0.139 to 0.148 for every AE and
for the originals) sat on that floor, so orderings of raw values could rank histogram occupancy.
Each nMI is therefore stored with its **chance baseline**: the nMI of the same pair after one image's
samples are put in random order (:func:`shuffled`, a seeded permutation per image). Shuffling keeps
both histograms, hence both entropies and the bias of the plug-in MI, and removes only the pairing of
samples by pixel position, which is what the nMI is meant to measure; the **corrected nMI** is the
raw nMI minus the baseline, pair by pair (0 in expectation for any two images whose pixels carry no
shared information, whatever their histograms). It is the correction of adjusted mutual information
(Vinh et al., 2010: MI minus its expectation under random pairing of the samples), with the expectation
estimated by one random permutation per pair instead of scikit-learn's exact hypergeometric sum
(``expected_mutual_information``), which costs 17 ms per 32x32x3 pair (27 minutes for the cpu run's
95,000 pairs) where the shuffle costs one more joint histogram and a permutation; on 100 pairs of CIFAR-10 test images the two expectations agree
to 0.3% (0.4453 against 0.4466 nats). Measured on the 10,000 CIFAR-10 test images in random order
(64 bins, arithmetic nMI; blur: a 3x3 box filter, a stand-in for a smoothing AE):

=========================================  ======  ========  =========
pairs                                       raw     baseline  corrected
=========================================  ======  ========  =========
uniform noise (5,000 pairs)                 0.1727  0.1727    -0.0000
unrelated test images (5,000 pairs)         0.1483  0.1219    +0.0265
intra nMI(x, blur(x)) (10,000 images)       0.4416  0.1169    +0.3247
inter nMI(blur(x1), blur(x2))               0.1481  0.1082    +0.0399
intra nMI(x, x + N(0, 0.05))                0.3848  0.1278    +0.2571
=========================================  ======  ========  =========

The per-pair baseline varies by about 0.02 (standard deviation), so the mean of 10,000 carries 0.0003
of Monte-Carlo error, and every AE's pair n is shuffled alike, so differences between AEs carry less.
Unrelated natural images keep +0.027 after the correction: they do share structure (channel and
position statistics of photographs), which is information, not bias. The alternative considered, the
nMI of the same AE's reconstructions of randomly re-paired images (nMI(x_i, A(x_j)), 0.147 for blur,
the raw floor of unrelated images), removes that shared structure too, but has no counterpart for
inter-nMI, whose pairs are already unrelated images; the shuffle baseline serves both kinds alike.

Computation is batched: one ``bincount`` over B*bins*bins joint indices gives all B joint histograms;
images are processed in chunks of about ``CHUNK_ELEMENTS`` samples so that the temporaries stay in
cache (never one image at a time unless a single image is that large).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

AVERAGES = ("arithmetic", "geometric", "min", "max")
DEFAULT_BINS = 64
# Samples per chunk (2**20 = 4 MiB of float32, 6 images at 224x224x3): measured with 1 thread at
# 224x224x3, 0.36 ms/pair with 2**20 and 1.7 ms/pair with 2**22 or 2**24, whose temporaries leave the cache.
CHUNK_ELEMENTS = 2**20


def _check_average(average: str) -> None:
    if average not in AVERAGES:
        raise ValueError(f"nmi: average must be one of {AVERAGES}, got {average!r}")


def _check_bins(bins: int) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"nmi: bins must be a positive integer, got {bins!r}")


def _levels(x: torch.Tensor, bins: int) -> torch.Tensor:
    """Quantisation levels as floats (exact small integers): floor(clamp(x, 0, 1) * bins) capped at
    bins - 1, computed as clamp(x * bins, 0, bins - 1) then floor, which is the same for every x and
    one pass shorter. float32 arithmetic for all dtypes but float64, so that :func:`quantize` and
    :func:`nmi` agree exactly."""
    if not torch.is_floating_point(x):
        raise ValueError(f"nmi: images must be floating point in [0, 1], got dtype {x.dtype}")
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    return torch.mul(x, bins).clamp_(0, bins - 1).floor_()


def quantize(x: torch.Tensor, bins: int = DEFAULT_BINS) -> torch.Tensor:
    """Levels 0..bins-1 (int64) of values in [0, 1] (clamped first), equal-width bins.

    >>> quantize(torch.tensor([0.0, 0.25, 0.49, 0.5, 1.0, 1.7, -0.2]), bins=4).tolist()
    [0, 1, 1, 2, 3, 3, 0]
    """
    _check_bins(bins)
    if torch.is_floating_point(x) and torch.isnan(x).any():
        raise ValueError("nmi: images contain NaN")
    return _levels(x, bins).long()


def _flat_pair(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if x.shape != y.shape:
        raise ValueError(f"nmi: x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.dim() < 2:
        raise ValueError(f"nmi: expected a batch of shape (B, N) or (B, C, H, W), got {tuple(x.shape)}")
    if x.device != y.device:
        raise ValueError(f"nmi: x and y are on different devices ({x.device}, {y.device})")
    n = math.prod(x.shape[1:])  # not -1: a batch of 0 images has no inferable size
    return x.reshape(x.shape[0], n), y.reshape(y.shape[0], n)


@dataclass(frozen=True)
class _Stats:
    mi: torch.Tensor  # (B,) float64, nats, >= 0
    hx: torch.Tensor
    hy: torch.Tensor
    both_constant: torch.Tensor  # (B,) bool: each image has one occupied level (or no samples)
    zero: torch.Tensor  # (B,) bool: nMI is 0 by scikit-learn's rules (one constant, or MI == 0)


def _joint_chunk(x: torch.Tensor, y: torch.Tensor, bins: int) -> torch.Tensor:
    """Joint histograms (b, bins, bins) of a chunk of image pairs (b, n), by one bincount."""
    b = x.shape[0]
    kk = bins * bins
    lx = _levels(x, bins)
    idx = _levels(y, bins)
    if b * kk > 2**24 and idx.dtype == torch.float32:  # float32 integers are exact up to 2**24 only
        lx, idx = lx.double(), idx.double()
    idx.add_(lx, alpha=bins).add_(torch.arange(0, b * kk, kk, dtype=idx.dtype, device=idx.device).unsqueeze(1))
    # One check catches NaN in x or y: clamp removed infinities, so the sum of the finite indices is
    # finite unless one is NaN (a sum reduction is ~20x cheaper here than isnan(idx).any()).
    if torch.isnan(idx.sum()):
        raise ValueError("nmi: images contain NaN")
    idx = idx.to(torch.int32 if b * kk < 2**31 else torch.int64)
    return torch.bincount(idx.reshape(-1), minlength=b * kk).reshape(b, bins, bins)


@functools.lru_cache(maxsize=8)
def _xlogx_table(n: int, device: torch.device) -> torch.Tensor:
    """v * log(v) for v = 0..n (0 log 0 = 0), float64."""
    v = torch.arange(n + 1, dtype=torch.float64, device=device)
    return torch.special.xlogy(v, v)


def _stats(x: torch.Tensor, y: torch.Tensor, bins: int) -> _Stats:
    _check_bins(bins)
    x, y = _flat_pair(x, y)
    b, n = x.shape
    kk = bins * bins
    # Chunks of about CHUNK_ELEMENTS samples keep the temporaries in cache, and at most 2**24 // kk
    # images keep the float32 joint index exact.
    per_chunk = max(1, min(CHUNK_ELEMENTS // max(1, n), 2**24 // kk))
    if b <= per_chunk:
        joint = _joint_chunk(x, y, bins)
    else:
        joint = torch.cat([_joint_chunk(x[s : s + per_chunk], y[s : s + per_chunk], bins) for s in range(0, b, per_chunk)])
    if joint.device.type == "mps":  # no float64 on MPS
        joint = joint.cpu()
    a = joint.sum(2)  # (B, K) counts of x levels
    d = joint.sum(1)  # (B, K) counts of y levels
    log_n = math.log(n) if n > 0 else 0.0
    nf = float(max(n, 1))
    # With S(v) = sum v log v over counts: H(x) = log N - S(a)/N, H(x, y) = log N - S(c)/N and
    # MI = H(x) + H(y) - H(x, y) = log N + (S(c) - S(a) - S(d))/N. In float64 this agrees with
    # scikit-learn's term-by-term sum to ~1e-15. Counts are integers 0..N, so v log v comes from a
    # table, read with index_select (measured on 256 x 64 x 64 cells, 1 thread: 0.5 ms, against 1.0 ms
    # for take, 3.1 ms for indexing and 5.9 ms for xlogy on every cell; take and indexing also stall
    # for ~10 ms a call with 2 threads on a busy machine, index_select does not).
    table = _xlogx_table(n, joint.device)

    def s_of(counts: torch.Tensor) -> torch.Tensor:
        return table.index_select(0, counts.flatten()).view(counts.shape).flatten(1).sum(1)

    s_a, s_d, s_c = s_of(a), s_of(d), s_of(joint)
    mi = ((s_c - s_a - s_d) / nf + log_n).clamp_(min=0.0)
    hx = (log_n - s_a / nf).clamp_(min=0.0)
    hy = (log_n - s_d / nf).clamp_(min=0.0)
    kx = (a > 0).sum(1)
    ky = (d > 0).sum(1)
    both_constant = (kx <= 1) & (ky <= 1)
    zero = ~both_constant & ((kx <= 1) | (ky <= 1) | (mi == 0))
    return _Stats(mi, hx, hy, both_constant, zero)


def _normalize(s: _Stats, average: str) -> torch.Tensor:
    _check_average(average)
    if average == "arithmetic":
        norm = (s.hx + s.hy) / 2
    elif average == "geometric":
        norm = (s.hx * s.hy).sqrt()
    elif average == "min":
        norm = torch.minimum(s.hx, s.hy)
    else:
        norm = torch.maximum(s.hx, s.hy)
    safe = torch.where(s.zero | s.both_constant | (norm <= 0), 1.0, norm)
    out = (s.mi / safe).clamp_(0.0, 1.0)
    out = torch.where(s.zero, 0.0, out)
    return torch.where(s.both_constant, 1.0, out)


def nmi(x: torch.Tensor, y: torch.Tensor, bins: int = DEFAULT_BINS, average: str = "arithmetic") -> torch.Tensor:
    """nMI of each image pair ``(x[b], y[b])``: (B,) float64 on the inputs' device.

    ``x`` and ``y`` are batches of shape (B, C, H, W) or (B, N) with values in [0, 1].

    >>> x = torch.linspace(0, 1, 48).reshape(1, 3, 4, 4)
    >>> nmi(x, x).tolist(), nmi(x, 1 - x).tolist(), nmi(x, torch.full_like(x, 0.5)).tolist()
    ([1.0], [1.0], [0.0])
    """
    _check_average(average)
    return _normalize(_stats(x, y, bins), average)


def nmi_all(
    x: torch.Tensor, y: torch.Tensor, bins: int = DEFAULT_BINS, averages: Sequence[str] = AVERAGES
) -> dict[str, torch.Tensor]:
    """:func:`nmi` for several normalisations from one joint histogram: ``{average: (B,) tensor}``."""
    for a in averages:
        _check_average(a)
    s = _stats(x, y, bins)
    return {a: _normalize(s, a) for a in averages}


def intra_nmi(x: torch.Tensor, recon: torch.Tensor, **kw) -> torch.Tensor:
    """intra-nMI: nMI(x[b], A(x)[b]) for each image of the batch, (B,)."""
    return nmi(x, recon, **kw)


def inter_pairs(recon: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The consecutive pairs (recon[0], recon[1]), (recon[2], recon[3]), ...; an odd last image is dropped."""
    n = recon.shape[0] // 2 * 2
    return recon[0:n:2], recon[1:n:2]


def inter_nmi(recon: torch.Tensor, **kw) -> torch.Tensor:
    """inter-nMI over consecutive pairs of reconstructions, (B // 2,); with an odd B the last image is
    dropped (use :class:`NMIAccumulator` to pair it with the next batch).

    >>> r = torch.linspace(0, 1, 3 * 8).reshape(3, 8)
    >>> inter_nmi(r).shape
    torch.Size([1])
    """
    a, b = inter_pairs(recon)
    return nmi(a, b, **kw)


# --- the chance baseline ---------------------------------------------------------------------

#: Seed of the pixel shuffles of the chance baseline (results.json records it as ``nmi.shuffle_seed``).
NMI_SHUFFLE_SEED = 0


def _permutation_base(seed: int) -> int:
    # As repro.noise.image_seed: a hash of the seed gives a base, image n takes base + n, so that no
    # two images of one run share a shuffle.
    import numpy as np  # noqa: PLC0415

    return int(np.random.SeedSequence([int(seed) & (2**64 - 1), 0x6E6D69]).generate_state(1, np.uint32)[0])


@functools.lru_cache(maxsize=4)
def shuffle_permutations(n_samples: int, first_index: int, count: int, seed: int = NMI_SHUFFLE_SEED) -> torch.Tensor:
    """(count, n_samples) int64 on the CPU: row k is a random permutation of the samples of test image
    ``first_index + k``, from its own generator (so it does not depend on batching, and every
    autoencoder's pair of image n is shuffled alike: the baselines of two AEs are paired). Cached: the
    accumulators of one batch (one per AE) ask for the same rows.

    >>> p = shuffle_permutations(6, 10, 3)
    >>> torch.equal(p[1], shuffle_permutations(6, 11, 1)[0]), sorted(p[0].tolist())
    (True, [0, 1, 2, 3, 4, 5])
    """
    base = _permutation_base(seed)
    g = torch.Generator(device="cpu")
    out = torch.empty((count, n_samples), dtype=torch.int64)
    for k in range(count):
        g.manual_seed((base + first_index + k) % 2**32)
        torch.randperm(n_samples, generator=g, out=out[k])
    return out


def shuffled(y: torch.Tensor, first_index: int, seed: int = NMI_SHUFFLE_SEED) -> torch.Tensor:
    """Each image of ``y`` (B, ...) as (B, N) with its samples in random order (:func:`shuffle_permutations`).

    Shuffling keeps the image's histogram, hence both entropies and the occupancy of the joint
    histogram that biases the plug-in MI, and removes only the pairing of samples by pixel position.
    """
    flat = y.reshape(y.shape[0], -1)
    perm = shuffle_permutations(flat.shape[1], int(first_index), flat.shape[0], seed)
    return flat.gather(1, perm.to(flat.device))


def entropy(x: torch.Tensor, bins: int = DEFAULT_BINS) -> torch.Tensor:
    """Entropy (nats) of each image's quantised samples, (B,) float64, as :func:`nmi` computes it.

    >>> round(float(entropy(torch.tensor([[0.0, 0.0, 0.9, 0.9]]), bins=2)[0]), 4)
    0.6931
    """
    return _stats(x, x, bins).hx


@dataclass(frozen=True)
class NMIStat:
    """One line of an :class:`NMIAccumulator` summary."""

    kind: str  # "intra" or "inter"
    average: str
    mean: float  # NaN when count == 0
    count: int  # images (intra) or pairs (inter)


class NMIAccumulator:
    """Sums intra-nMI per image and inter-nMI per consecutive pair over the batches of a data loader.

    Pairs are consecutive across batch boundaries: the last image of an odd batch is kept and paired
    with the first image of the next batch, so 50,000 images give 25,000 pairs whatever the batch size
    (Sec. 3.5). All ``averages`` come from one histogram per pair.

    ``baseline_seed`` (an int): also the chance baseline of every pair, the same nMI with the second
    image's samples shuffled (:func:`shuffled`; image n's shuffle seeded by n), averaged likewise:
    ``mean(kind, average, baseline=True)``. ``keep``: also keep, per image and per pair, the MI (raw and
    shuffled) and the entropies that every average derives from, for the bootstrap
    (:meth:`per_image`).

    >>> acc = NMIAccumulator(averages=("arithmetic", "max"))
    >>> x = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    >>> acc.update(x[:3], x[:3]); acc.update(x[3:], x[3:])
    >>> acc.mean("intra"), acc.count("intra"), acc.count("inter")
    (1.0, 5, 2)
    """

    def __init__(self, bins: int = DEFAULT_BINS, averages: str | Sequence[str] = "arithmetic", *,
                 baseline_seed: int | None = None, keep: bool = False) -> None:
        self.bins = bins
        self.averages = (averages,) if isinstance(averages, str) else tuple(averages)
        if not self.averages:
            raise ValueError("NMIAccumulator: averages is empty")
        for a in self.averages:
            _check_average(a)
        self.baseline_seed = baseline_seed
        self.keep = keep
        self._sum = {(k, a, b): 0.0 for k in ("intra", "inter") for a in self.averages for b in (False, True)}
        self._count = {"intra": 0, "inter": 0}
        self._seen = 0  # images passed to update: the index of the next batch's first image
        self._leftover: torch.Tensor | None = None
        self._kept: dict[str, list[torch.Tensor]] = {k: [] for k in
                                                     ("h_x", "h_recon", "intra_mi", "intra_mi_shuffled",
                                                      "inter_mi", "inter_mi_shuffled")}

    def _add(self, kind: str, s: _Stats, shuffled_stats: _Stats | None) -> None:
        for a in self.averages:
            self._sum[(kind, a, False)] += float(_normalize(s, a).sum())
            if shuffled_stats is not None:
                self._sum[(kind, a, True)] += float(_normalize(shuffled_stats, a).sum())
        self._count[kind] += int(s.mi.shape[0])

    def update(self, x: torch.Tensor | None, recon: torch.Tensor) -> None:
        """Add a batch: intra-nMI of (x, recon) unless ``x`` is None, inter-nMI of consecutive recon pairs."""
        recon = recon.detach()
        first = self._seen
        self._seen += recon.shape[0]
        base = self.baseline_seed
        if x is not None:
            s = _stats(x.detach(), recon, self.bins)
            sb = _stats(x.detach().reshape(x.shape[0], -1), shuffled(recon, first, base), self.bins) if base is not None else None
            self._add("intra", s, sb)
            if self.keep:
                self._keep(h_x=s.hx, h_recon=s.hy, intra_mi=s.mi, **({} if sb is None else {"intra_mi_shuffled": sb.mi}))
        elif self.keep:
            self._keep(h_recon=entropy(recon, self.bins))
        if self._leftover is not None:
            recon = torch.cat([self._leftover.to(recon.device), recon])
            first -= 1
            self._leftover = None
        a, b = inter_pairs(recon)
        if a.shape[0]:
            s = _stats(a, b, self.bins)
            # the second image of pair k is image first + 2k + 1: its shuffle, as in the intra baseline
            sb = _stats(a.reshape(a.shape[0], -1), shuffled(recon, first, base)[1 : 2 * a.shape[0] : 2], self.bins) \
                if base is not None else None
            self._add("inter", s, sb)
            if self.keep:
                self._keep(inter_mi=s.mi, **({} if sb is None else {"inter_mi_shuffled": sb.mi}))
        if recon.shape[0] % 2:
            self._leftover = recon[-1:].clone()

    def _keep(self, **values: torch.Tensor) -> None:
        for k, v in values.items():
            self._kept[k].append(v.detach().to("cpu", torch.float64))

    def count(self, kind: str) -> int:
        """Images (``"intra"``) or pairs (``"inter"``) seen so far."""
        if kind not in self._count:
            raise ValueError(f"NMIAccumulator: kind must be 'intra' or 'inter', got {kind!r}")
        return self._count[kind]

    def mean(self, kind: str, average: str | None = None, baseline: bool = False) -> float:
        """Mean nMI of ``kind`` for ``average`` (default: the first of ``averages``); NaN when empty.
        ``baseline``: the mean chance baseline instead (needs ``baseline_seed``)."""
        n = self.count(kind)
        average = self.averages[0] if average is None else average
        if average not in self.averages:
            raise ValueError(f"NMIAccumulator: {average!r} not among the accumulated averages {self.averages}")
        if baseline and self.baseline_seed is None:
            raise ValueError("NMIAccumulator: no baseline accumulated (baseline_seed is None)")
        return self._sum[(kind, average, baseline)] / n if n else math.nan

    def per_image(self) -> dict[str, torch.Tensor]:
        """What ``keep`` kept, as float64 CPU tensors: ``h_recon`` (n,), the entropy of each image given
        as ``recon``; with ``x``: ``h_x`` (n,), ``intra_mi`` and ``intra_mi_shuffled`` (n,); and
        ``inter_mi``, ``inter_mi_shuffled`` (pairs,). MI and entropies in nats."""
        if not self.keep:
            raise ValueError("NMIAccumulator: per-image values were not kept (keep=False)")
        always = ("h_recon", "inter_mi") + (("inter_mi_shuffled",) if self.baseline_seed is not None else ())
        return {k: torch.cat(v) if v else torch.zeros(0, dtype=torch.float64) for k, v in self._kept.items()
                if v or k in always}

    def summary(self) -> list[NMIStat]:
        return [NMIStat(k, a, self.mean(k, a), self.count(k)) for k in ("intra", "inter") for a in self.averages]
