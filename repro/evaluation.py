"""The evaluate stage's measurements: accuracies, the cross grid, noise, nMI and LAB (Secs. 3.3 to 3.5).

:func:`measure` takes loaded models and a test loader and returns the ``results.json`` sections
``n_test``, ``accuracy``, ``per_image``, ``noise``, ``nmi``, ``lab`` and ``figures`` (schema in
:mod:`repro.results`). One pass over the loader does everything:

- Each autoencoder (A_S and every A_i) reconstructs a batch once; that reconstruction is fed to every
  classifier (Table 1's ``A_S∘i`` and ``A_i∘i`` and Table 2's cross grid ``A_i∘j``, Sec. 3.4), to the
  nMI accumulators (Sec. 3.5) and to the LAB statistics (Sec. 3.3.1).
- The noise sweep (Sec. 3.3.2) runs on the first ``noise_images`` test images of the same batches: at
  each level ``s`` the noisy batch (:mod:`repro.noise`, identical for every model) goes to each
  classifier ``i``, to ``A_S`` once (its reconstruction shared by all classifiers) and to each ``A_i``
  (read by ``i``). At ``s = 0`` the noisy image *is* the image, so the clean pass's results are reused.

Beside every aggregate, ``per_image`` keeps the per-image values it is made of (correctness, at each
noise level too; the MI and entropies behind each nMI and its chance baseline; each image's LAB
sums), so that :meth:`repro.results.Results.resample` can recompute every number under bootstrap
weights (issue 9; encodings in :mod:`repro.per_image`).

Noise results are keyed like the accuracies: ``noise["top1"][ae][classifier]`` is a list with one
accuracy per level, for ``ae`` in ``"none"``, ``"A_S"`` and ``"A_<classifier>"`` (only the matching
pair ``A_i∘i`` is measured under noise, as in Fig. 5); ``noise["top5"]`` likewise.

Models are put on ``device`` and in eval mode for the measurement (their previous train/eval flags are
restored afterwards), and everything runs under ``torch.inference_mode``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from repro.analysis.nmi import NMI_SHUFFLE_SEED
from repro.colour import LabStatistics, plot_lab_panel
from repro.errors import ReproError
from repro.noise import CLAMP, add_uniform_noise
from repro.per_image import UNIT, encode_array
from repro.results import ALONE, PRETRAINED_AE, ae_name, encode_bits

FIG3_NAME = "fig3_lab.png"
TOPK = 5


def topk_correct(logits: torch.Tensor, labels: torch.Tensor, k: int = TOPK) -> tuple[np.ndarray, np.ndarray]:
    """Per-image top-1 and top-k correctness (bool arrays on the CPU).

    Top-1 is the first of the top-k (so the two agree on ties). With fewer than ``k`` classes, top-k is
    over all classes.

    >>> logits = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.2]])
    >>> [a.tolist() for a in topk_correct(logits, torch.tensor([1, 2]), k=2)]
    [[True, False], [True, True]]
    """
    top = logits.topk(min(k, logits.shape[1]), dim=1).indices
    hit = top == labels.view(-1, 1)
    return hit[:, 0].cpu().numpy(), hit.any(dim=1).cpu().numpy()


@contextlib.contextmanager
def _eval_mode(modules: Iterable[nn.Module]):
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


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _progress(loader: Any, enabled: bool, desc: str):
    from tqdm.auto import tqdm  # noqa: PLC0415

    try:
        total = len(loader)
    except TypeError:
        total = None
    # disable=None: tqdm draws only when stderr is a terminal (no bar redraws in captured logs)
    return tqdm(loader, total=total, desc=desc, unit="batch", disable=None if enabled else True, leave=False)


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
    from repro.analysis.nmi import AVERAGES, NMIAccumulator  # noqa: PLC0415

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
    device = torch.device(device)

    keys = list(classifiers)
    aes: dict[str, nn.Module] = {PRETRAINED_AE: pretrained_ae}
    aes.update({ae_name(k): fine_tuned[k] for k in keys if k in fine_tuned})  # classifier order
    ae_names = list(aes)
    for model in [*classifiers.values(), *aes.values()]:
        model.to(device)

    correct: dict[str, dict[str, dict[str, list[np.ndarray]]]] = {
        m: {a: {k: [] for k in keys} for a in [ALONE, *ae_names]} for m in ("top1", "top5")
    }
    sweep = bool(levels) and noise_images != 0
    noise_groups = {ALONE: keys, PRETRAINED_AE: keys, **{ae_name(k): [k] for k in keys if k in fine_tuned}}
    # noise_bits[metric][group][classifier][level]: per-batch correctness arrays of the swept images
    noise_bits = {
        m: {g: {k: [[] for _ in levels] for k in ks} for g, ks in noise_groups.items()} for m in ("top1", "top5")
    }
    noise_n = 0
    nmi_accs = {name: NMIAccumulator(bins=nmi_bins, averages=AVERAGES, baseline_seed=nmi_shuffle_seed, keep=True)
                for name in ["original", *ae_names]}
    lab = LabStatistics(ae_names, per_image=True)
    fig_sample: dict[str, torch.Tensor] | None = None
    n_seen = 0

    with _eval_mode([*classifiers.values(), *aes.values()]), torch.inference_mode():
        for batch in _progress(loader, progress, "evaluate"):
            images, labels = batch[0], batch[1]
            if not torch.is_floating_point(images) or images.ndim != 4:
                raise ReproError(
                    f"evaluation: the loader must yield float images (B, C, H, W) in [0, 1], got "
                    f"{images.dtype} {tuple(images.shape)}"
                )
            x = images.to(device, torch.float32, non_blocking=True)
            y = torch.as_tensor(labels).to(device, non_blocking=True)
            b = x.shape[0]

            with _autocast(device, autocast_dtype):
                # Each AE's reconstruction once per batch, shared by every classifier, nMI and LAB.
                recons = {name: ae(x).float() for name, ae in aes.items()}
                clean: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
                for source, inp in [(ALONE, x), *recons.items()]:
                    for k, clf in classifiers.items():
                        c1, c5 = topk_correct(clf(inp), y)
                        clean[(source, k)] = (c1, c5)
                        correct["top1"][source][k].append(c1)
                        correct["top5"][source][k].append(c5)

                m = b if noise_images is None else max(0, min(b, noise_images - n_seen))
                if sweep and m > 0:
                    _noise_batch(
                        x[:m], y[:m], n_seen, levels, noise_seed, classifiers, aes, noise_groups, clean, noise_bits
                    )
                    noise_n += m

            nmi_accs["original"].update(None, x)
            for name, r in recons.items():
                nmi_accs[name].update(x, r)
            lab.update(x, recons)
            if fig_sample is None and n_seen <= fig3_index < n_seen + b:
                i = fig3_index - n_seen
                fig_sample = {"original": x[i].cpu(), **{name: r[i].cpu() for name, r in recons.items()}}
            n_seen += b

    if n_seen == 0:
        raise ReproError("evaluation: the test loader yielded no images")

    bits = {m: {a: {k: np.concatenate(v) for k, v in row.items()} for a, row in table.items()}
            for m, table in correct.items()}
    out: dict[str, Any] = {
        "n_test": n_seen,
        # a count of hits over n_seen: exactly what a resample under unit weights recomputes
        "accuracy": {m: {a: {k: int(v.sum()) / n_seen for k, v in row.items()} for a, row in table.items()}
                     for m, table in bits.items()},
    }
    per_image: dict[str, Any] = {
        "encoding": "correctness: base64 of numpy.packbits(correct, bitorder='little'); arrays: "
                    "repro.per_image.encode_array records (zlib, base64; value = offset + step * integer)",
        "unit": UNIT,
        **{m: {a: {k: encode_bits(v) for k, v in row.items()} for a, row in table.items()} for m, table in bits.items()},
    }
    if sweep and noise_n:
        swept = {m: {g: {k: np.stack([np.concatenate(per_level) for per_level in curves]) for k, curves in row.items()}
                     for g, row in groups.items()} for m, groups in noise_bits.items()}  # (levels, noise_n) each
        out["noise"] = {
            "levels": levels,
            "clamp": CLAMP,
            "seed": noise_seed,
            "n_images": noise_n,
            **{m: {g: {k: (v.sum(axis=1) / noise_n).tolist() for k, v in row.items()} for g, row in groups.items()}
               for m, groups in swept.items()},
        }
        per_image["noise"] = {
            "n_images": noise_n, "levels": len(levels),
            **{m: {g: {k: encode_bits(v) for k, v in row.items()} for g, row in groups.items()} for m, groups in swept.items()},
        }
    out["nmi"], per_image["nmi"] = _nmi_sections(nmi_accs, ae_names, nmi_bins, n_seen, nmi_shuffle_seed)
    out["lab"] = lab.result()
    per_image["lab"] = lab.per_image_record()
    out["per_image"] = per_image
    out["figures"] = {}
    if figures_dir is not None:
        if fig_sample is None:
            raise ReproError(f"evaluation: fig3_index {fig3_index} is beyond the {n_seen} test images")
        figures_dir = Path(figures_dir)
        original = fig_sample.pop("original")
        plot_lab_panel(original, fig_sample, figures_dir / FIG3_NAME)
        out["figures"]["fig3_lab"] = f"{figures_dir.name}/{FIG3_NAME}"
    return out


def _noise_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    first_index: int,
    levels: Sequence[float],
    seed: int,
    classifiers: Mapping[str, nn.Module],
    aes: Mapping[str, nn.Module],
    groups: Mapping[str, Sequence[str]],
    clean: Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray]],
    bits: dict[str, dict[str, dict[str, list[list[np.ndarray]]]]],
) -> None:
    """Add one batch's noise-sweep correctness: i, A_S∘i and A_i∘i at every level, on the same noisy images."""
    m = x.shape[0]
    for li, s in enumerate(levels):
        if s == 0:  # x + U[-0, 0] is x: the clean pass already has these answers
            for g, ks in groups.items():
                for k in ks:
                    c1, c5 = clean[(g, k)]
                    bits["top1"][g][k][li].append(c1[:m])
                    bits["top5"][g][k][li].append(c5[:m])
            continue
        noisy = add_uniform_noise(x, s, seed=seed, first_index=first_index)
        inputs: dict[str, torch.Tensor] = {ALONE: noisy}
        for g in groups:
            if g != ALONE:
                inputs[g] = aes[g](noisy)  # once per level and batch, shared by the classifiers of g
        for g, ks in groups.items():
            for k in ks:
                c1, c5 = topk_correct(classifiers[k](inputs[g]), y)
                bits["top1"][g][k][li].append(c1)
                bits["top5"][g][k][li].append(c5)


def _nmi_sections(accs: Mapping[str, Any], ae_names: Sequence[str], bins: int, n_images: int,
                  shuffle_seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """results.json's ``nmi`` (means: raw, chance baseline, corrected) and ``per_image.nmi`` (the MI and
    entropies each image's and pair's nMI derive from, 16-bit quantised; repro.per_image)."""
    from repro.analysis.nmi import AVERAGES  # noqa: PLC0415

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
