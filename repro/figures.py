"""The paper's figures and the report's own, drawn in one module (matplotlib).

- Fig. 2 (Sec. 3.2): :func:`plot_mse_curves`, SegNet pretraining MSE (drawn by the evaluate stage).
- Fig. 3 (Sec. 3.3.1): :func:`plot_lab_panel`, one test image and its reconstructions with their LAB
  histograms (drawn by :func:`repro.evaluation.measure`).
- Fig. 5 (Sec. 3.3.2): :func:`noise_figure`, accuracy under uniform noise.
- Fig. 6 (Sec. 3.4): :func:`plot_rrc_curve` and :func:`rrc_figure`, the sorted RRC curve.
- Fig. 7 (Sec. 3.4): :func:`plot_lattice` and :func:`lattice_figures`, Hasse diagrams of concept lattices.
- Fig. 9 (Sec. 3.5): :func:`nmi_figure`, intra- and inter-nMI bars.
- The report's own: :func:`plot_finetune_convergence`, :func:`plot_cross_transfer` (Sec. 3.3) and
  :func:`plot_grid_heatmaps` (Table 2 at a glance).

A top-level module rather than a part of :mod:`repro.analysis`: the figures span Secs. 3.2 to 3.5,
not only the analysis of the cross grid, and three callers draw them (the evaluate stage, the report
and ``repro analyze --out``). Drawing is kept apart from measuring (:mod:`repro.evaluation`,
:mod:`repro.colour`) and from the report's sections (:mod:`repro.report`), which only call these.

matplotlib, torch and the LAB conversion are imported inside the functions, so importing this module
(and :mod:`repro.report`, which does) loads neither matplotlib nor torch. Figs. 2, 5 and 9 and
:func:`save_figure` go through pyplot; the others build :class:`matplotlib.figure.Figure` directly
(no display, no pyplot state; ``plot_rrc_curve``, ``plot_lattice`` and ``plot_finetune_convergence``
take an optional ``ax`` to draw into and return the Figure). Each keeps the exact calls it was
written with, so that rebuilt PNGs stay byte for byte the committed ones (fixed metadata, no
timestamps).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from repro.analysis.lattice import build_lattice, context_at
from repro.errors import os_error_in, writing
from repro.grid import DEFAULT_READING, CrossGrid
from repro.results import PRETRAINED_AE, Results, ae_name

if TYPE_CHECKING:
    import torch
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from repro.analysis.lattice import Lattice

# The thresholds t of the paper's Fig. 7 lattices, also drawn as reference lines on Fig. 6.
PAPER_THRESHOLDS = (0.1, 0.2, 0.8, 0.9)


def save_figure(fig, path: Path) -> str:
    """Write ``fig`` as the PNG ``path`` and close it; returns the file's name (what the report links)."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    # Fixed metadata keeps the PNG bytes identical across rebuilds.
    _savefig(fig, path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path.name


def _savefig(fig, path: Path, **kwargs) -> None:
    """``fig.savefig(path, **kwargs)`` (the same call, so the same bytes); a write that fails (full disk,
    read-only folder) removes what it began and is a one-line :class:`repro.errors.WriteError`."""

    with writing(path, "figure"):
        try:
            fig.savefig(path, **kwargs)
        except (OSError, RuntimeError) as err:
            if os_error_in(err) is not None:
                path.unlink(missing_ok=True)  # savefig truncated the old figure already: drop the half-written one
            raise


def _new_ax(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots()


# --- Sec. 3.2 and 3.3: pretraining (Fig. 2), LAB (Fig. 3), noise (Fig. 5) -----------------------


def plot_mse_curves(curves: dict[str, list], path: Path, title: str = "") -> bool:
    """Fig. 2: training and validation MSE against images seen (log scale), lr cuts marked."""
    xs = curves.get("images_seen") or []
    if len(xs) < 2:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    train = [(x, y) for x, y in zip(xs, curves["train_mse"]) if y is not None]
    if train:
        ax.plot(*zip(*train), marker="o", ms=3, label="training MSE (window mean)")
    ax.plot(xs, curves["val_mse"], marker="s", ms=3, label="validation MSE")
    lrs = curves.get("lr") or []
    for i in range(1, len(lrs)):
        if lrs[i] < lrs[i - 1]:
            ax.axvline(xs[i], color="grey", lw=0.8, ls=":")
    ax.set_xlabel("images seen")
    ax.set_ylabel("MSE")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    from repro.checkpoint import atomic_write  # noqa: PLC0415 - loads torch, which `repro report` and `repro analyze` do not

    atomic_write(path, lambda fh: fig.savefig(fh, format="png", metadata={"Software": None}))
    plt.close(fig)
    return True


def plot_lab_panel(
    original: torch.Tensor, reconstructions: Mapping[str, torch.Tensor], path: str | Path, *, bins: int = 64
) -> Path:
    """Fig. 3: one image and its reconstructions (columns), with their L, a and b histograms under each.

    ``original`` and each reconstruction are (3, H, W) RGB in [0, 1]. In the autoencoders' columns the
    original's histogram is drawn as a grey outline for comparison. Written with matplotlib's Agg
    canvas (no display, no global pyplot state); returns ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415
    import torch  # noqa: PLC0415

    from repro.colour import CHANNELS, rgb_to_lab  # noqa: PLC0415

    columns = {"original": original, **dict(reconstructions)}
    labs = {name: rgb_to_lab(img.unsqueeze(0))[0] for name, img in columns.items()}
    # One range per channel for every column, so the histograms compare at a glance.
    ranges = []
    for c in range(3):
        lo = min(float(lab[c].min()) for lab in labs.values())
        hi = max(float(lab[c].max()) for lab in labs.values())
        pad = max(1.0, 0.02 * (hi - lo))
        ranges.append((lo - pad, hi + pad))
    colours = ("0.2", "tab:red", "tab:olive")

    n = len(columns)
    fig = Figure(figsize=(1.9 * n, 7.0), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(4, n, squeeze=False, gridspec_kw={"height_ratios": [1.6, 1, 1, 1]})
    for j, (name, img) in enumerate(columns.items()):
        ax = axes[0, j]
        ax.imshow(img.detach().to("cpu", torch.float32).clamp(0, 1).permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        for c in range(3):
            ax = axes[c + 1, j]
            edges = np.linspace(*ranges[c], bins + 1)
            if name != "original":
                ax.hist(labs["original"][c].ravel(), bins=edges, histtype="step", color="0.6", linewidth=1.0)
            ax.hist(labs[name][c].ravel(), bins=edges, color=colours[c], alpha=0.85)
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
            if j == 0:
                ax.set_ylabel(CHANNELS[c], fontsize=10)
    fig.suptitle("LAB histograms of one test image and its reconstructions (Fig. 3)", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _savefig(fig, path)
    return path


def noise_figure(results: Results, out: Path) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results.noise or not results.classifiers:
        return None
    levels = results.noise["levels"]
    fig, axes = plt.subplots(1, len(results.classifiers), figsize=(3.2 * len(results.classifiers), 3), sharey=True)
    for ax, clf in zip(np.atleast_1d(axes), results.classifiers):
        for setting, style, label in (("none", "-k", clf), ("A_S", "--", f"A_S∘{clf}"), (ae_name(clf), "-o", f"A_{clf}∘{clf}")):
            curve = results.noise["top1"].get(setting, {}).get(clf)
            if curve is not None:
                ax.plot(levels, curve, style, label=label, markersize=3)
        ax.set_title(clf)
        ax.set_xlabel("noise level s")
        ax.legend(fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("top-1")
    fig.suptitle("Accuracy under uniform noise U[-s, s] (Fig. 5)")
    return save_figure(fig, out / "noise.png")


# --- Sec. 3.4: sorted RRC (Fig. 6) and concept lattices (Fig. 7) ---------------------------------


def composition_label(ae: str, classifier: str) -> str:
    """``A_i∘j`` for an AE named after its classifier ``i`` (a name that already starts with ``A_`` is kept).

    >>> composition_label("V", "R"), composition_label("A_V", "R")
    ('A_V∘R', 'A_V∘R')
    """
    ae = str(ae)
    return f"{ae if ae.startswith('A_') else 'A_' + ae}∘{classifier}"


def plot_rrc_curve(
    rrc: np.ndarray,
    ae_names: Sequence[str],
    classifier_names: Sequence[str],
    ax: Axes | None = None,
    thresholds: Sequence[float] = (),
    max_labels: int = 80,
) -> Figure:
    """All RRC values sorted ascending, each point labelled ``A_i∘j`` (Fig. 6 of the paper).

    ``rrc[i, j]`` is RRC(A_i∘j) (rows: AEs, columns: classifiers). ``thresholds`` draws horizontal
    reference lines (e.g. the t of Fig. 7). Tick labels are left out above ``max_labels`` points.
    """
    a = np.asarray(rrc, dtype=float)
    if a.shape != (len(ae_names), len(classifier_names)):
        raise ValueError(f"plot_rrc_curve: rrc of shape {a.shape} for {len(ae_names)} AEs x {len(classifier_names)} classifiers")
    labels = [composition_label(ae, c) for ae in ae_names for c in classifier_names]
    values = a.ravel()
    order = np.argsort(values, kind="stable")
    n = len(values)
    fig, ax = _new_ax(ax, (max(5.0, 0.28 * n + 1.5), 4.0))
    x = np.arange(n)
    ax.plot(x, values[order], marker="o", markersize=4, linewidth=1, color="tab:blue")
    for t in thresholds:
        ax.axhline(t, linestyle="--", linewidth=0.8, color="tab:gray")
        ax.annotate(f"t = {t:g}", (1.0, t), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8, color="tab:gray")
    if n <= max_labels:
        ax.set_xticks(x, [labels[k] for k in order], rotation=90, fontsize=8)
    ax.set_xlim(-0.5, max(n - 0.5, 0.5))
    ax.set_ylabel("RRC")
    ax.set_xlabel("A_i∘j, sorted by RRC")
    ax.grid(axis="y", linewidth=0.3)
    return fig


def rrc_figure(grid: CrossGrid, out: Path, reading: str = DEFAULT_READING) -> str:
    fig = plot_rrc_curve(grid.rrc(reading), grid.ae_labels(), list(grid.classifiers), thresholds=PAPER_THRESHOLDS)
    return save_figure(fig, out / "rrc_sorted.png")


def _layout(lattice: Lattice) -> dict[int, tuple[float, float]]:
    """Node positions: one layer per distinct extent size (top concept highest), nodes of a layer ordered by
    the mean x of their upper covers (barycentre heuristic, fewer crossings) and spread 1 apart."""
    sizes = sorted({len(c.extent) for c in lattice.concepts}, reverse=True)
    layer_of = {s: k for k, s in enumerate(sizes)}
    layers: list[list[int]] = [[] for _ in sizes]
    for k, c in enumerate(lattice.concepts):
        layers[layer_of[len(c.extent)]].append(k)
    uppers: dict[int, list[int]] = {k: [] for k in range(len(lattice.concepts))}
    for lo, up in lattice.edges:
        uppers[lo].append(up)
    pos: dict[int, tuple[float, float]] = {}
    for depth, nodes in enumerate(layers):
        def bary(k: int) -> float:
            xs = [pos[u][0] for u in uppers[k] if u in pos]
            return float(np.mean(xs)) if xs else 0.0

        nodes = sorted(nodes, key=lambda k: (bary(k), k))
        width = len(nodes)
        for r, k in enumerate(nodes):
            pos[k] = (r - (width - 1) / 2, -float(depth))
    return pos


def _wrap(names: Sequence[str], per_line: int = 3) -> str:
    return "\n".join(", ".join(names[s : s + per_line]) for s in range(0, len(names), per_line))


def plot_lattice(lattice: Lattice, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Hasse diagram of ``lattice`` with reduced labelling (Fig. 7 of the paper).

    The top concept (all objects) is at the top, layers by extent size, straight cover edges. Each object
    (classifier) is written ABOVE its object concept and each attribute (AE) BELOW its attribute concept,
    so a classifier has exactly the AEs written at or above its node along upward paths.
    """
    pos = _layout(lattice)
    n_layers = len({p[1] for p in pos.values()})
    widest = max(sum(1 for p in pos.values() if p[1] == y) for y in {p[1] for p in pos.values()})
    fig, ax = _new_ax(ax, (max(4.0, 1.6 * widest + 1.0), max(3.0, 1.5 * n_layers + 0.5)))
    fontsize = 9 if len(lattice.concepts) <= 12 else 7
    # a white box keeps labels readable where cover edges pass through them
    box = dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85)
    for lo, up in lattice.edges:
        (x0, y0), (x1, y1) = pos[lo], pos[up]
        ax.plot([x0, x1], [y0, y1], color="black", linewidth=0.8, zorder=1)
    xs = [pos[k][0] for k in range(len(lattice.concepts))]
    ys = [pos[k][1] for k in range(len(lattice.concepts))]
    ax.scatter(xs, ys, s=90, facecolor="white", edgecolor="black", linewidth=1.0, zorder=2)
    obj_at: dict[int, list[str]] = {}
    for g in lattice.objects:
        obj_at.setdefault(lattice.object_concept(g), []).append(g)
    attr_at: dict[int, list[str]] = {}
    for m in lattice.attributes:
        attr_at.setdefault(lattice.attribute_concept(m), []).append(m)
    for k, names in obj_at.items():
        x, y = pos[k]
        ax.annotate(_wrap(names), (x, y), xytext=(0, 7), textcoords="offset points", ha="center", va="bottom",
                    fontsize=fontsize, color="tab:blue", zorder=3, bbox=box)
    for k, names in attr_at.items():
        x, y = pos[k]
        ax.annotate(_wrap(names), (x, y), xytext=(0, -7), textcoords="offset points", ha="center", va="top",
                    fontsize=fontsize, color="tab:red", zorder=3, bbox=box)
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def lattice_figures(grid: CrossGrid, thresholds: dict[str, float], out: Path, reading: str = DEFAULT_READING) -> dict[str, str]:

    r = grid.rrc(reading)
    files = {}
    for label, t in thresholds.items():
        lattice = build_lattice(context_at(r, t), grid.classifiers, grid.ae_labels())
        fig = plot_lattice(lattice, title=f"t = {label}")
        files[label] = save_figure(fig, out / f"lattice_t{label}.png")
    return files


# --- Sec. 3.5: nMI (Fig. 9) -----------------------------------------------------------------------


def nmi_figure(results: Results, out: Path) -> str | None:
    """Fig. 9's bars: intra- and inter-nMI per AE, raw and (when measured) minus their chance baseline,
    which is what the claims read (repro.claims.nmi.corrected_nmi)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results.nmi or not results.nmi.get("intra"):
        return None
    variant = "arithmetic" if "arithmetic" in results.nmi["intra"] else next(iter(results.nmi["intra"]))
    tables = {"raw": (results.nmi["intra"].get(variant, {}), results.nmi.get("inter", {}).get(variant, {}))}
    corrected = results.nmi.get("corrected") or {}
    if corrected.get("intra"):
        tables["minus chance baseline (what the claims read)"] = (
            corrected["intra"].get(variant, {}), (corrected.get("inter") or {}).get(variant, {}))
    names = [n for n in [PRETRAINED_AE, *[ae_name(c) for c in results.classifiers]] if n in tables["raw"][0]]
    if not names:
        return None
    x = np.arange(len(names))
    fig, axes = plt.subplots(1, len(tables), figsize=(len(tables) * (1 + 0.9 * len(names)), 3), squeeze=False)
    for ax, (title, (intra, inter)) in zip(axes[0], tables.items()):
        ax.bar(x - 0.2, [intra.get(n, np.nan) for n in names], 0.4, label="intra-nMI(x, A(x))")
        ax.bar(x + 0.2, [inter.get(n, np.nan) for n in names], 0.4, label="inter-nMI(A(x1), A(x2))")
        if "original" in inter:
            ax.axhline(inter["original"], color="gray", ls=":", label="inter-nMI of originals")
        ax.axhline(0.0, color="black", lw=0.6)
        ax.set_xticks(x, names)
        ax.set_ylabel(f"nMI ({variant})")
        ax.set_title(title, fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Normalised mutual information (Fig. 9)", y=1.04)
    return save_figure(fig, out / "nmi.png")


# --- Sec. 3.3: fine-tuning, and Table 2 at a glance -------------------------------------------------


def plot_finetune_convergence(
    curves: dict[str, dict], alone: dict[str, float], ax: Axes | None = None
) -> Figure:
    """Held-out top-1 of A_i∘i against images seen during fine-tuning, one line per classifier i
    (Sec. 3.3's counterpart of Fig. 2). The first point of each line is A_S∘i (before any step);
    the dashed line of the same colour is classifier i alone on the same held-out images; a ring marks
    the check whose weights were kept.

    ``curves[i]``: {"images_seen": [...], "heldout_top1": {i: [...], ...}, "best_images_seen": n};
    ``alone[i]``: classifier i's held-out top-1 on the images themselves.
    """
    fig, ax = _new_ax(ax, (6.4, 4.0))
    colours = [f"C{n}" for n in range(10)]
    for n, (clf, c) in enumerate(curves.items()):
        xs, ys = c["images_seen"], c["heldout_top1"][clf]
        col = colours[n % len(colours)]
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.2, color=col, label=f"A_{clf}∘{clf}")
        if clf in alone:
            ax.axhline(alone[clf], color=col, linestyle="--", linewidth=0.8)
        best = c.get("best_images_seen")
        if best in xs:
            ax.plot([best], [ys[xs.index(best)]], marker="o", markersize=9, markerfacecolor="none", color=col)
    ax.set_xlabel("images seen in fine-tuning")
    ax.set_ylabel("held-out top-1")
    ax.set_title("A_i∘i while fine-tuning (first point: A_S∘i; dashed: i alone; ring: kept)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return fig


def plot_cross_transfer(curves: dict[str, dict], columns: int = 3) -> Figure:
    """For each A_i, the held-out top-1 of every classifier j on A_i's reconstructions, minus A_S∘j,
    against images seen: whether and when the cross grid of Table 2 opens up (A_i∘i rising while the
    others fall). One panel per fine-tuned AE; the bold line is its own classifier.
    """
    from matplotlib.figure import Figure

    names = list(curves)
    rows = max(1, -(-len(names) // columns))
    fig = Figure(figsize=(3.4 * min(columns, len(names)), 2.7 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, min(columns, len(names)), sharey=True, squeeze=False)).ravel()
    classifiers = sorted({j for c in curves.values() for j in c["heldout_top1"]},
                         key=lambda j: list(curves).index(j) if j in curves else len(curves))
    colour = {j: f"C{n % 10}" for n, j in enumerate(classifiers)}
    for ax, clf in zip(axes, names):
        c = curves[clf]
        xs = c["images_seen"]
        for j, ys in c["heldout_top1"].items():
            delta = [y - ys[0] for y in ys]
            ax.plot(xs, delta, color=colour[j], linewidth=2.2 if j == clf else 1.0, label=f"∘{j}")
        ax.axhline(0.0, color="tab:gray", linewidth=0.6)
        ax.set_title(f"A_{clf}", fontsize=9)
        ax.set_xlabel("images seen", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].set_ylabel("top-1 minus A_S∘j", fontsize=8)
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle("Cross transfer while fine-tuning (held-out images)", fontsize=10)
    return fig


def plot_grid_heatmaps(
    grids: dict[str, np.ndarray], ae_names: Sequence[str], classifier_names: Sequence[str],
    value_range: tuple[float, float] = (0.0, 1.0), label: str = "top-1 of A_i∘j",
) -> Figure:
    """Several cross grids (e.g. the paper's Table 2 and ours) as heatmaps on one colour scale, side by
    side, each cell printed: the specialisation of the fine-tuned AEs, or its absence, at a glance."""
    from matplotlib.figure import Figure

    lo, hi = value_range
    fig = Figure(figsize=(3.6 * len(grids) + 0.8, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(grids), squeeze=False)).ravel()
    image = None
    for ax, (title, grid) in zip(axes, grids.items()):
        g = np.asarray(grid, dtype=float)
        image = ax.imshow(g, vmin=lo, vmax=hi, cmap="viridis")
        ax.set_xticks(range(len(classifier_names)), list(classifier_names), fontsize=8)
        ax.set_yticks(range(len(ae_names)), [a if str(a).startswith("A_") else f"A_{a}" for a in ae_names], fontsize=8)
        ax.set_xlabel("classifier j", fontsize=8)
        ax.set_title(title, fontsize=9)
        for (r, c), v in np.ndenumerate(g):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if v < lo + 0.55 * (hi - lo) else "black")
    if image is not None:
        fig.colorbar(image, ax=list(axes), shrink=0.85, label=label)
    return fig
