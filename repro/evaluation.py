"""The evaluate stage's measurements: accuracies, the cross grid, noise, nMI and LAB (Secs. 3.3 to 3.5).

:func:`measure` takes loaded models and a test loader and returns the ``results.json`` sections
``n_test``, ``accuracy``, ``per_image``, ``noise``, ``nmi``, ``lab`` and ``figures`` (schema in
:mod:`repro.results`). One pass over the loader does everything: each autoencoder (A_S and every A_i)
reconstructs a batch once, and the batch with its reconstructions (a :class:`Batch`) goes to every
:class:`Measurement` in turn; each gives its sections at the end.

- :class:`AccuracyGrid`: every classifier on the images and on every reconstruction (Table 1's ``i``,
  ``A_S∘i`` and ``A_i∘i`` and Table 2's cross grid ``A_i∘j``, Sec. 3.4).
- :class:`NoiseSweep` (Sec. 3.3.2), on the first ``noise_images`` test images of the same batches: at
  each level ``s`` the noisy batch (:mod:`repro.noise`, identical for every model) goes to each
  classifier ``i``, to ``A_S`` once (its reconstruction shared by all classifiers) and to each ``A_i``
  (read by ``i``). At ``s = 0`` the noisy image *is* the image, so the clean pass's results are reused.
- :class:`NmiMeasurement` (Sec. 3.5) and :class:`LabMeasurement` (Sec. 3.3.1) of the reconstructions,
  and :class:`Fig3Panel`, which keeps one image and its reconstructions and draws Fig. 3.

Beside every aggregate, ``per_image`` keeps the per-image values it is made of (correctness, at each
noise level too; the MI and entropies behind each nMI and its chance baseline; each image's LAB
sums), so that :meth:`repro.results.Results.resample` can recompute every number under bootstrap
weights (encodings in :mod:`repro.per_image`).

Noise results are keyed like the accuracies: ``noise["top1"][ae][classifier]`` is a list with one
accuracy per level, for ``ae`` in ``"none"``, ``"A_S"`` and ``"A_<classifier>"`` (only the matching
pair ``A_i∘i`` is measured under noise, as in Fig. 5); ``noise["top5"]`` likewise.

Models are put on ``device`` and in eval mode for the measurement (their previous train/eval flags are
restored afterwards), and everything runs under ``torch.inference_mode``; with ``autocast_dtype`` the
models run under autocast (the nMI and LAB statistics do not).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from repro.analysis.nmi import AVERAGES, NMIAccumulator, NMI_SHUFFLE_SEED
from repro.colour import LabStatistics
from repro.errors import ReproError
from repro.figures import plot_lab_panel
from repro.noise import CLAMP, add_uniform_noise
from repro.per_image import UNIT, encode_array
from repro.results import ALONE, PRETRAINED_AE, ae_name, encode_bits
from repro.training import autocast, topk_correct

FIG3_NAME = "fig3_lab.png"
PER_IMAGE_ENCODING = ("correctness: base64 of numpy.packbits(correct, bitorder='little'); arrays: "
                      "repro.per_image.encode_array records (zlib, base64; value = offset + step * integer)")


@contextlib.contextmanager
def eval_mode(modules: Iterable[nn.Module]):
    """Put modules in eval mode for the block and give them back their own train/eval flags after."""
    saved = [(m, [(sub, sub.training) for sub in m.modules()]) for m in modules]
    try:
        for m, _ in saved:
            m.eval()
        yield
    finally:
        for _, flags in saved:
            for sub, flag in flags:
                sub.training = flag


def _progress(loader: Any, enabled: bool, desc: str):
    from tqdm.auto import tqdm  # noqa: PLC0415

    try:
        total = len(loader)
    except TypeError:
        total = None
    # disable=None: tqdm draws only when stderr is a terminal (no bar redraws in captured logs)
    return tqdm(loader, total=total, desc=desc, unit="batch", disable=None if enabled else True, leave=False)


# Enters the models' precision for a block: autocast to autocast_dtype, or a null context (float32).
Precision = Callable[[], contextlib.AbstractContextManager]


@dataclass(frozen=True)
class Batch:
    """One test batch as every measurement sees it: on the device, under ``torch.inference_mode``."""

    images: torch.Tensor  # (B, 3, H, W) float32 in [0, 1]
    labels: torch.Tensor  # (B,)
    first_index: int  # the test-set index of images[0]
    reconstructions: Mapping[str, torch.Tensor]  # AE name -> its reconstruction of the images (float32)


class Measurement(Protocol):
    """One measurement of the evaluate pass: shown every test batch in the loader's order, then asked for
    its ``results.json`` sections. Its ``"per_image"`` and ``"figures"`` entries are merged into the
    sections of those names, which gather every measurement's."""

    def update(self, batch: Batch) -> None: ...

    def result(self) -> dict[str, Any]: ...


class AccuracyGrid:
    """Top-1 and top-5 of every classifier on the images (``"none"``) and on every autoencoder's
    reconstructions (Table 1 and Table 2's cross grid), with each image's correctness."""

    def __init__(self, classifiers: Mapping[str, nn.Module], ae_names: Sequence[str], precision: Precision):
        self.classifiers = classifiers
        self.precision = precision
        self.correct: dict[str, dict[str, dict[str, list[np.ndarray]]]] = {
            m: {a: {k: [] for k in classifiers} for a in [ALONE, *ae_names]} for m in ("top1", "top5")
        }
        # (source, classifier) -> (top-1, top-5) correctness of the latest batch, which NoiseSweep reuses at s = 0
        self.latest: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self.n_images = 0

    def update(self, batch: Batch) -> None:
        self.latest = {}
        with self.precision():
            for source, inp in [(ALONE, batch.images), *batch.reconstructions.items()]:
                for k, clf in self.classifiers.items():
                    c1, c5 = topk_correct(clf(inp), batch.labels)
                    self.latest[(source, k)] = (c1, c5)
                    self.correct["top1"][source][k].append(c1)
                    self.correct["top5"][source][k].append(c5)
        self.n_images += batch.images.shape[0]

    def result(self) -> dict[str, Any]:
        n = self.n_images
        bits = {m: {a: {k: np.concatenate(v) for k, v in row.items()} for a, row in table.items()}
                for m, table in self.correct.items()}
        return {
            # a count of hits over n: exactly what a resample under unit weights recomputes
            "accuracy": {m: {a: {k: int(v.sum()) / n for k, v in row.items()} for a, row in table.items()}
                         for m, table in bits.items()},
            "per_image": {m: {a: {k: encode_bits(v) for k, v in row.items()} for a, row in table.items()}
                          for m, table in bits.items()},
        }


class NoiseSweep:
    """Top-1 and top-5 of i, A_S∘i and A_i∘i under U[-s, s] at every level (Sec. 3.3.2, Fig. 5) on the
    first ``limit`` test images (None: all), on the same noisy images for every model, with each
    image's correctness. Reads ``clean.latest``, so ``clean`` must see each batch first."""

    def __init__(self, classifiers: Mapping[str, nn.Module], aes: Mapping[str, nn.Module], fine_tuned: Iterable[str],
                 levels: Sequence[float], seed: int, limit: int | None, clean: AccuracyGrid, precision: Precision):
        keys = list(classifiers)
        tuned = set(fine_tuned)
        self.classifiers, self.aes, self.clean, self.precision = classifiers, aes, clean, precision
        self.levels, self.seed, self.limit = list(levels), seed, limit
        self.groups = {ALONE: keys, PRETRAINED_AE: keys, **{ae_name(k): [k] for k in keys if k in tuned}}
        # bits[metric][group][classifier][level]: per-batch correctness arrays of the swept images
        self.bits = {m: {g: {k: [[] for _ in self.levels] for k in ks} for g, ks in self.groups.items()}
                     for m in ("top1", "top5")}
        self.n_images = 0

    def update(self, batch: Batch) -> None:
        b = batch.images.shape[0]
        m = b if self.limit is None else max(0, min(b, self.limit - batch.first_index))
        if m > 0:
            with self.precision():
                self._sweep(batch.images[:m], batch.labels[:m], batch.first_index)
            self.n_images += m

    def _sweep(self, x: torch.Tensor, y: torch.Tensor, first_index: int) -> None:
        """One batch's correctness at every level."""
        m = x.shape[0]
        for li, s in enumerate(self.levels):
            if s == 0:  # x + U[-0, 0] is x: the clean pass already has these answers
                for g, ks in self.groups.items():
                    for k in ks:
                        c1, c5 = self.clean.latest[(g, k)]
                        self.bits["top1"][g][k][li].append(c1[:m])
                        self.bits["top5"][g][k][li].append(c5[:m])
                continue
            noisy = add_uniform_noise(x, s, seed=self.seed, first_index=first_index)
            inputs: dict[str, torch.Tensor] = {ALONE: noisy}
            for g in self.groups:
                if g != ALONE:
                    inputs[g] = self.aes[g](noisy)  # once per level and batch, shared by the classifiers of g
            for g, ks in self.groups.items():
                for k in ks:
                    c1, c5 = topk_correct(self.classifiers[k](inputs[g]), y)
                    self.bits["top1"][g][k][li].append(c1)
                    self.bits["top5"][g][k][li].append(c5)

    def result(self) -> dict[str, Any]:
        n = self.n_images
        if not n:
            return {}
        swept = {m: {g: {k: np.stack([np.concatenate(per_level) for per_level in curves]) for k, curves in row.items()}
                     for g, row in groups.items()} for m, groups in self.bits.items()}  # (levels, n) each
        noise = {
            "levels": self.levels,
            "clamp": CLAMP,
            "seed": self.seed,
            "n_images": n,
            **{m: {g: {k: (v.sum(axis=1) / n).tolist() for k, v in row.items()} for g, row in groups.items()}
               for m, groups in swept.items()},
        }
        per_image = {
            "n_images": n, "levels": len(self.levels),
            **{m: {g: {k: encode_bits(v) for k, v in row.items()} for g, row in groups.items()}
               for m, groups in swept.items()},
        }
        return {"noise": noise, "per_image": {"noise": per_image}}


class NmiMeasurement:
    """Intra-nMI of every autoencoder (each image against its reconstruction) and inter-nMI of consecutive
    pairs, of the images and of every autoencoder's reconstructions (Sec. 3.5, Fig. 9), each with its
    chance baseline (pixels shuffled, seeded by ``shuffle_seed``) and the per-image values behind it."""

    def __init__(self, ae_names: Sequence[str], bins: int, shuffle_seed: int):

        self.ae_names, self.bins, self.shuffle_seed = list(ae_names), bins, shuffle_seed
        self.accs = {name: NMIAccumulator(bins=bins, averages=AVERAGES, baseline_seed=shuffle_seed, keep=True)
                     for name in ["original", *self.ae_names]}
        self.n_images = 0

    def update(self, batch: Batch) -> None:
        self.accs["original"].update(None, batch.images)
        for name, r in batch.reconstructions.items():
            self.accs[name].update(batch.images, r)
        self.n_images += batch.images.shape[0]

    def result(self) -> dict[str, Any]:
        section, per_image = _nmi_sections(self.accs, self.ae_names, self.bins, self.n_images, self.shuffle_seed)
        return {"nmi": section, "per_image": {"nmi": per_image}}


class LabMeasurement:
    """The LAB statistics of every reconstruction against its image (Sec. 3.3.1;
    :class:`repro.colour.LabStatistics`), with each image's contribution."""

    def __init__(self, ae_names: Sequence[str]):
        self.stats = LabStatistics(ae_names, per_image=True)

    def update(self, batch: Batch) -> None:
        self.stats.update(batch.images, batch.reconstructions)

    def result(self) -> dict[str, Any]:
        return {"lab": self.stats.result(), "per_image": {"lab": self.stats.per_image_record()}}


class Fig3Panel:
    """Test image ``index`` and its reconstructions, drawn as ``figures_dir/fig3_lab.png`` (Fig. 3); its
    path in ``"figures"`` is relative to ``figures_dir``'s parent, where results.json lives."""

    def __init__(self, index: int, figures_dir: Path):
        self.index, self.figures_dir = index, Path(figures_dir)
        self.sample: dict[str, torch.Tensor] | None = None
        self.n_images = 0

    def update(self, batch: Batch) -> None:
        b = batch.images.shape[0]
        if self.sample is None and batch.first_index <= self.index < batch.first_index + b:
            i = self.index - batch.first_index
            self.sample = {"original": batch.images[i].cpu(),
                           **{name: r[i].cpu() for name, r in batch.reconstructions.items()}}
        self.n_images += b

    def result(self) -> dict[str, Any]:
        if self.sample is None:
            raise ReproError(f"evaluation: fig3_index {self.index} is beyond the {self.n_images} test images")
        reconstructions = dict(self.sample)
        original = reconstructions.pop("original")
        plot_lab_panel(original, reconstructions, self.figures_dir / FIG3_NAME)
        return {"figures": {"fig3_lab": f"{self.figures_dir.name}/{FIG3_NAME}"}}


def measure(
    classifiers: Mapping[str, nn.Module],
    pretrained_ae: nn.Module,
    fine_tuned: Mapping[str, nn.Module],
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    device: str | torch.device,
    noise_levels: Sequence[float],
    noise_seed: int,
    noise_images: int | None,
    nmi_bins: int,
    figures_dir: Path | None,
    progress: bool = True,
    nmi_shuffle_seed: int = NMI_SHUFFLE_SEED,
    autocast_dtype: torch.dtype | None = None,
    fig3_index: int = 0,
) -> dict[str, Any]:
    """Evaluate every classifier alone and on every autoencoder's reconstructions; see the module doc.

    classifiers: key ("L", "A", ...) -> frozen classifier taking [0, 1] RGB and returning logits.
    pretrained_ae: A_S. fine_tuned: key -> A_key (a subset of the classifiers' keys).
    loader: yields (images (B, 3, H, W) float in [0, 1], labels (B,)) in a fixed order.
    noise_levels: the s of U[-s, s] (empty: no noise sweep); noise_seed: see :mod:`repro.noise`;
    noise_images: the sweep uses the first this many test images (None: all; 0: no sweep).
    nmi_bins: quantisation levels of :func:`repro.analysis.nmi.nmi`; nmi_shuffle_seed: the seed of the
    chance baseline's pixel shuffles (:func:`repro.analysis.nmi.shuffled`).
    figures_dir: where fig3_lab.png goes (None: no figure); its path in ``"figures"`` is relative to
    ``figures_dir``'s parent, which is where results.json lives.
    autocast_dtype: e.g. torch.bfloat16 to run the models under autocast (reconstructions are cast
    back to float32 before nMI and LAB).
    fig3_index: which test image the Fig. 3 panel shows.

    Returns ``{"n_test", "accuracy", "per_image", "noise" (when swept), "nmi", "lab", "figures"}``.
    """
    levels = _check_settings(classifiers, fine_tuned, noise_levels, noise_images)
    device = torch.device(device)
    aes: dict[str, nn.Module] = {PRETRAINED_AE: pretrained_ae}
    aes.update({ae_name(k): fine_tuned[k] for k in classifiers if k in fine_tuned})  # classifier order
    models = [*classifiers.values(), *aes.values()]
    for model in models:
        model.to(device)
    precision = functools.partial(autocast, device, autocast_dtype)

    accuracy = AccuracyGrid(classifiers, list(aes), precision)
    measurements: list[Measurement] = [accuracy]
    if levels and noise_images != 0:
        measurements.append(
            NoiseSweep(classifiers, aes, fine_tuned, levels, noise_seed, noise_images, accuracy, precision))
    measurements += [NmiMeasurement(list(aes), nmi_bins, nmi_shuffle_seed), LabMeasurement(list(aes))]
    if figures_dir is not None:
        measurements.append(Fig3Panel(fig3_index, figures_dir))

    n_seen = 0
    with eval_mode(models), torch.inference_mode():
        for batch in _progress(loader, progress, "evaluate"):
            x, y = batch_on_device(batch, device)
            with precision():
                # Each AE's reconstruction once per batch, shared by every measurement.
                recons = {name: ae(x).float() for name, ae in aes.items()}
            seen = Batch(x, y, n_seen, recons)
            for m in measurements:
                m.update(seen)
            n_seen += x.shape[0]
    if n_seen == 0:
        raise ReproError("evaluation: the test loader yielded no images")
    return _sections(n_seen, [m.result() for m in measurements])


def _check_settings(classifiers: Mapping[str, nn.Module], fine_tuned: Mapping[str, nn.Module],
                    noise_levels: Sequence[float], noise_images: int | None) -> list[float]:
    """The noise levels as floats, after a clear error for any setting measure cannot take."""
    if not classifiers:
        raise ReproError("evaluation: no classifiers to evaluate")
    unknown = [k for k in fine_tuned if k not in classifiers]
    if unknown:
        raise ReproError(f"evaluation: fine-tuned autoencoders {unknown} have no classifier among {list(classifiers)}")
    levels = [float(s) for s in noise_levels]
    if any(not np.isfinite(s) or s < 0 for s in levels):
        raise ReproError(f"evaluation: noise levels must be finite and >= 0, got {levels}")
    if noise_images is not None and noise_images < 0:
        raise ReproError(f"evaluation: noise_images must be >= 0 or None, got {noise_images}")
    return levels


def batch_on_device(batch: Sequence[Any], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A loader's (images, labels) as float32 images and labels on ``device``."""
    images, labels = batch[0], batch[1]
    if not torch.is_floating_point(images) or images.ndim != 4:
        raise ReproError(
            f"evaluation: the loader must yield float images (B, C, H, W) in [0, 1], got "
            f"{images.dtype} {tuple(images.shape)}"
        )
    return images.to(device, torch.float32, non_blocking=True), torch.as_tensor(labels).to(device, non_blocking=True)


def _sections(n_test: int, results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """results.json's sections: ``n_test``, each measurement's own in turn, then ``per_image`` and
    ``figures``, which gather the entries of that name of every measurement."""
    out: dict[str, Any] = {"n_test": n_test}
    per_image: dict[str, Any] = {"encoding": PER_IMAGE_ENCODING, "unit": UNIT}
    figures: dict[str, str] = {}
    for sections in results:
        for name, value in sections.items():
            if name == "per_image":
                per_image.update(value)
            elif name == "figures":
                figures.update(value)
            else:
                out[name] = value
    out["per_image"] = per_image
    out["figures"] = figures
    return out


def _nmi_sections(accs: Mapping[str, Any], ae_names: Sequence[str], bins: int, n_images: int,
                  shuffle_seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """results.json's ``nmi`` (means: raw, chance baseline, corrected) and ``per_image.nmi`` (the MI and
    entropies each image's and pair's nMI derive from, 16-bit quantised; repro.per_image)."""

    names = {"intra": list(ae_names), "inter": list(accs)}

    def means(baseline: bool) -> dict[str, Any]:
        return {kind: {avg: {n: accs[n].mean(kind, avg, baseline=baseline) for n in names[kind]} for avg in AVERAGES}
                for kind in names}

    raw, base = means(False), means(True)
    section = {
        "bins": bins,
        "n_images": n_images,
        "n_pairs": accs["original"].count("inter"),
        **raw,
        "baseline": base,
        # the difference of the two stored means, as a resample computes it (repro.per_image)
        "corrected": {kind: {avg: {n: raw[kind][avg][n] - base[kind][avg][n] for n in names[kind]} for avg in AVERAGES}
                      for kind in names},
        "shuffle_seed": shuffle_seed,
    }
    kept = {name: acc.per_image() for name, acc in accs.items()}
    first_ae = ae_names[0]
    per_image = {
        "shuffle_seed": shuffle_seed,
        # H(x) from an AE's intra pairs (every AE's intra reads the same originals, so any one gives it)
        "entropy": {"original": encode_array(kept[first_ae]["h_x"].numpy(), nonnegative=True),
                    **{n: encode_array(kept[n]["h_recon"].numpy(), nonnegative=True) for n in ae_names}},
        "intra": {key: {n: encode_array(kept[n][f"intra_{key}"].numpy(), nonnegative=True) for n in ae_names}
                  for key in ("mi", "mi_shuffled")},
        "inter": {key: {n: encode_array(kept[n][f"inter_{key}"].numpy(), nonnegative=True) for n in accs}
                  for key in ("mi", "mi_shuffled")},
    }
    return section, per_image


# --- one AE against a run's classifiers (repro ceiling, repro calibrate) ---------------------------


def autoencoder_accuracy(ae: nn.Module, classifiers: Mapping[str, nn.Module],
                         loader: Iterable[tuple[torch.Tensor, torch.Tensor]], *, device: str = "cpu",
                         precision: str = "fp32", per_image: bool = False) -> dict[str, Any]:
    """Test top-1/top-5 of every classifier alone and on ``ae``'s reconstructions, and ``ae``'s MSE.

    The evaluate stage's own accuracy measurement (:class:`repro.evaluation.AccuracyGrid`, eval mode,
    each batch reconstructed once and read by every classifier), for one AE without the rest of the
    evaluation. Keys follow results.json: ``top1[ALONE][k]``, ``top1[PRETRAINED_AE][k]``. With
    ``per_image``, also ``correct[source][k]``: each image's top-1 correctness (a bool array), for a
    paired interval (:mod:`repro.calibration`).

    >>> import torch
    >>> from torch import nn
    >>> ident = nn.Identity()
    >>> clf = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> _ = nn.init.constant_(clf[1].weight, 0.0); _ = nn.init.constant_(clf[1].bias, 0.0)
    >>> clf[1].bias.data[1] = 1.0  # always class 1
    >>> out = autoencoder_accuracy(ident, {"k": clf}, [(torch.zeros(3, 1, 2, 2), torch.tensor([1, 1, 0]))])
    >>> out["n"], out["top1"][ALONE]["k"], out["top1"][PRETRAINED_AE]["k"], out["mse"]
    (3, 0.6666666666666666, 0.6666666666666666, 0.0)
    """
    autocasting = functools.partial(autocast, device, precision)
    grid = AccuracyGrid(classifiers, [PRETRAINED_AE], autocasting)
    n, squared, values = 0, 0.0, 0
    with eval_mode([ae, *classifiers.values()]), torch.inference_mode():
        for batch in loader:
            x, y = batch_on_device(batch, torch.device(device))
            with autocasting():
                rec = ae(x).float()
            grid.update(Batch(x, y, n, {PRETRAINED_AE: rec}))
            squared += float(((rec - x) ** 2).sum())
            values += x.numel()
            n += x.shape[0]
    out = {"n": n, "mse": squared / max(values, 1), **grid.result()["accuracy"]}
    if per_image:
        out["correct"] = {a: {k: np.concatenate(v) for k, v in row.items()} for a, row in grid.correct["top1"].items()}
    return out
