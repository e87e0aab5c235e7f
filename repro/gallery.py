"""A reconstruction gallery: a few test images beside A_S's and every A_i's reconstruction of them.

The paper's Fig. 3 (Sec. 3.3.1) shows one image through every fine-tuned AE, and its text names what to
look for: A_V changes least, A_A and A_R lay checkerboard patterns over the whole image, A_R and A_I
compress the luminance range, A_I shifts towards yellow/brown and A_A towards pink. The evaluate stage
draws one image with its LAB histograms (``figures/fig3_lab.png``); this module draws the pictures
themselves for a few images, each with its centre enlarged under it (nearest neighbour, so that a
checkerboard stays a checkerboard), and each A_i's cell labelled with classifier i's top-1 on that
reconstruction, right or wrong.

A finished run folder is read the way the evaluate stage reads it: the configuration results.json's
provenance records, each unit's folder from its key (:meth:`repro.pipeline.context.RunContext.unit_dir`),
checked finished for that key (:func:`repro.pipeline.units.unit_done`), its model rebuilt by
:mod:`repro.pipeline.model_files` (``weights_only`` loads); the test images through
:func:`repro.data.eval_loader` (its order and transform), from ``--data``, else ``$REPRO_DATA``, else the
data root the run recorded. The models run in the run's precision, in eval mode, one at a time.

The command is ``repro gallery DIR [--images N] [--seed S] [--out FILE]`` (:mod:`repro.commands.gallery`);
the claims report shows ``figures/gallery.png`` when it is there (:func:`repro.report.gallery_section`).
"""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from repro.checkpoint import atomic_write, read_json
from repro.config import DATA_ENV, RunConfig, config_differences, from_dict, resolve_device, scale_config
from repro.data import eval_loader, seeded_order
from repro.errors import ReproError
from repro.evaluation import eval_mode
from repro.pipeline import unit_keys
from repro.pipeline.classifiers import resolve_extras
from repro.pipeline.context import RunContext
from repro.pipeline.model_files import load_classifier, load_segnet
from repro.pipeline.stage_names import CLASSIFIERS, FINETUNE, PRETRAIN
from repro.pipeline.units import unit_done
from repro.results import PRETRAINED_AE, ae_name
from repro.training import autocast
from repro.vocabulary import PAPER_CLASSIFIERS

ORIGINAL = "original"
RIGHT, WRONG = "\u2713", "\u2717"  # check mark, ballot x (DejaVu Sans, matplotlib's default font, has both)


@dataclass(frozen=True)
class GalleryConfig:
    """images: test images drawn (rows); seed: which ones (a fixed seed draws the same images);
    patch: the enlarged centre's side as a fraction of the image's side (0.5: a quarter of the image)."""

    images: int = 4
    seed: int = 0
    patch: float = 0.5

    def __post_init__(self) -> None:
        if self.images < 1:
            raise ReproError(f"--images {self.images}: expected at least 1")
        if not 0 < self.patch <= 1:
            raise ReproError(f"gallery patch {self.patch}: expected a fraction of the side in (0, 1]")


@dataclass
class Gallery:
    """What the figure shows. ``pictures[column]``: (rows, H, W, 3) float32 in [0, 1] for each column
    ("original", "A_S", "A_L", ...); ``predictions[k]``: classifier k's top-1 class on A_k's reconstruction
    of each row; ``indices``: the rows' positions in the evaluation's test order; ``labels`` their classes."""

    scale: str
    config: GalleryConfig
    indices: list[int]
    labels: list[int]
    classes: tuple[str, ...]
    columns: list[str]
    pictures: dict[str, np.ndarray]
    predictions: dict[str, list[int]]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of pictures; the figure has two rows of axes per picture row (the picture, and
        its centre enlarged under it)."""
        return len(self.indices), len(self.columns)


# --- the run folder -------------------------------------------------------------------------------


def run_context(folder: str | os.PathLike, data: str | None = None, device: str | None = None) -> RunContext:
    """The run context of the finished run in ``folder``, from the configuration its results.json records;
    the data root is ``data``, else ``$REPRO_DATA``, else the recorded one. Writes nothing (no run.log)."""
    folder = Path(folder)
    path = folder / "results.json"
    raw = read_json(path)
    config = raw.get("provenance", {}).get("config") if isinstance(raw, dict) else None
    if not isinstance(config, dict):
        raise ReproError(f"{path}: missing, unreadable or without its configuration (provenance.config); "
                         "give the folder of a finished `repro run`")
    cfg = from_dict(config)
    if data is None and not os.environ.get(DATA_ENV):
        data = cfg.data.root  # neither --data nor $REPRO_DATA: where the run found its data
    cfg = replace(cfg, out=str(folder), device=device or "auto", data=replace(cfg.data, root=data))
    if cfg.classifiers.extra:  # their unit keys read the specs' files: a spec gone is named first
        resolve_extras(cfg, f"{path}: classifiers.extra")
    resolved = resolve_device(cfg.device)
    if resolved.startswith("cuda") and not torch.cuda.is_available():
        raise ReproError(f"--device {cfg.device}: CUDA is not available here; use --device cpu")
    return RunContext(cfg=cfg, device=resolved, out=folder, progress=False)


def column_keys(cfg: RunConfig) -> list[str]:
    """The run's classifiers in the gallery's column order: the paper's five as Table 1 lists them, then
    your own in the order given.

    >>> from repro.config import apply_overrides, scale_config
    >>> column_keys(apply_overrides(scale_config("smoke"), classifiers="R,mine=torchvision:resnet18,L"))
    ['L', 'R', 'mine']
    """
    keys = list(cfg.classifiers.keys)
    return [k for k in PAPER_CLASSIFIERS if k in keys] + [k for k in keys if k not in PAPER_CLASSIFIERS]


def make_command(ctx: RunContext) -> str:
    """The command that makes this run's units (``repro run`` reuses those already finished).

    >>> from pathlib import Path
    >>> from repro.config import scale_config
    >>> make_command(RunContext(cfg=scale_config("smoke"), device="cpu", out=Path("/tmp/r")))
    '`repro run --scale smoke --out /tmp/r`'
    """
    cfg = ctx.cfg
    cmd = ["repro", "run", "--scale", cfg.scale, "--out", str(ctx.out)]
    default = scale_config(cfg.scale)
    extra = cfg.classifiers.extra
    if list(cfg.classifiers.keys) != list(default.classifiers.keys) or extra:
        cmd += ["--classifiers", ",".join(f"{k}={extra[k]}" if k in extra else k for k in cfg.classifiers.keys)]
        default = replace(default, classifiers=replace(default.classifiers, keys=cfg.classifiers.keys, extra=extra))
    others = config_differences(default.to_dict(), cfg.to_dict())
    more = f" and this run's other settings (scale default -> run: {'; '.join(others[:3])}{' ...' if len(others) > 3 else ''})"
    return f"`{shlex.join(cmd)}`" + (more if others else "")


def unit_models(ctx: RunContext) -> dict[str, Path]:
    """The model file of every unit the gallery draws with, by name ("A_S", "L", ..., "A_L", ...): each
    unit's folder from its key, checked finished for it. A unit that is not there is one line naming its
    file and the command that makes it; a damaged one names the command that rebuilds it (unit_done)."""
    cfg = ctx.cfg
    if not ctx.ckpt.is_dir():
        raise ReproError(f"{ctx.ckpt}: missing, so there are no checkpoints to draw A_S and the A_i with (a report "
                         f"folder holds results alone); make them with {make_command(ctx)}")
    keys = column_keys(cfg)
    wanted = [(PRETRAIN, None, PRETRAINED_AE, unit_keys.pretrain(cfg))]
    wanted += [(CLASSIFIERS, k, k, unit_keys.classifier(cfg, k)) for k in keys]
    wanted += [(FINETUNE, ae_name(k), ae_name(k), unit_keys.finetune_finished(cfg, k, ctx.unit_dir)) for k in keys]
    found = {}
    for stage, unit, name, key in wanted:
        folder = ctx.unit_dir(stage, unit)
        model = folder / "model.pt"
        if unit_done(ctx, stage, folder, key) is None:
            why = "missing" if not model.exists() else "not finished for this run's configuration"
            raise ReproError(f"{model}: {why}, so the gallery has no {name} to draw with; make it with "
                             f"{make_command(ctx)}")
        found[name] = model
    return found


# --- the pictures ---------------------------------------------------------------------------------


def reconstruct(ctx: RunContext, config: GalleryConfig = GalleryConfig()) -> Gallery:
    """``config.images`` test images, picked by ``config.seed`` from the evaluation's test set, through A_S
    and every A_i, and classifier i's top-1 on A_i's reconstructions: what :func:`draw` shows."""
    cfg = ctx.cfg
    keys = column_keys(cfg)
    models = unit_models(ctx)
    dataset = eval_loader(cfg, ctx.cache, ctx.device).dataset  # the evaluation's images, order and transform
    if config.images > len(dataset):
        raise ReproError(f"--images {config.images}: the test set has {len(dataset)} images")
    indices = seeded_order(len(dataset), config.seed)[: config.images]
    items = [dataset[i] for i in indices]
    x = torch.stack([image for image, _ in items]).to(ctx.device, torch.float32)
    pictures = {ORIGINAL: x}
    predictions = {}
    # One model at a time (at the paper's scale six SegNets and five ImageNet classifiers need not share
    # memory), in the run's precision and in eval mode, as the evaluate stage runs them.
    with torch.inference_mode():
        for name in [PRETRAINED_AE, *map(ae_name, keys)]:
            ae = load_segnet(models[name], ctx.device)
            with eval_mode([ae]), autocast(ctx.device, cfg.precision):
                pictures[name] = ae(x).float()
            del ae
        for k in keys:
            clf = load_classifier(models[k], ctx.device).freeze()
            with eval_mode([clf]), autocast(ctx.device, cfg.precision):
                predictions[k] = clf(pictures[ae_name(k)]).argmax(1).tolist()
            del clf
    return Gallery(
        scale=cfg.scale, config=config, indices=list(indices), labels=[int(label) for _, label in items],
        classes=tuple(dataset.source.classes), columns=list(pictures),
        pictures={name: p.clamp(0, 1).permute(0, 2, 3, 1).to("cpu", torch.float32).numpy()
                  for name, p in pictures.items()},
        predictions=predictions)


def patch_box(height: int, width: int, fraction: float) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the centred patch whose sides are ``fraction`` of the image's.

    >>> patch_box(32, 32, 0.5), patch_box(224, 224, 0.25), patch_box(5, 7, 1.0)
    ((8, 8, 16, 16), (84, 84, 56, 56), (0, 0, 5, 7))
    """
    h, w = max(1, round(height * fraction)), max(1, round(width * fraction))
    return (height - h) // 2, (width - w) // 2, h, w


def enlarge(image: np.ndarray, fraction: float) -> np.ndarray:
    """The centred patch of ``image`` (H, W, C) whose sides are ``fraction`` of its own, enlarged by repeating
    each pixel (nearest neighbour, so that a checkerboard of one-pixel squares stays one) about to the
    image's size.

    >>> img = np.arange(16.0).reshape(4, 4, 1)
    >>> enlarge(img, 0.5)[..., 0]
    array([[ 5.,  5.,  6.,  6.],
           [ 5.,  5.,  6.,  6.],
           [ 9.,  9., 10., 10.],
           [ 9.,  9., 10., 10.]])
    """
    top, left, h, w = patch_box(image.shape[0], image.shape[1], fraction)
    factor = max(1, round(1 / fraction))
    return image[top:top + h, left:left + w].repeat(factor, axis=0).repeat(factor, axis=1)


def _caption(g: Gallery, column: str, row: int) -> tuple[str, str]:
    """The text under a cell and its colour: the true class under the original, classifier i's top-1
    under A_i (with a mark, so that right and wrong do not rest on colour alone), nothing under A_S."""
    if column == ORIGINAL:
        return f"test #{g.indices[row]}: {g.classes[g.labels[row]]}", "black"
    k = column.removeprefix("A_")
    if column == PRETRAINED_AE or k not in g.predictions:
        return "", "black"
    pred = g.predictions[k][row]
    right = pred == g.labels[row]
    return f"{k}: {g.classes[pred]} {RIGHT if right else WRONG}", "tab:green" if right else "tab:red"


def draw(g: Gallery) -> Figure:
    """The gallery: a row of pictures per test image (columns: the original, A_S, each A_i), each picture's
    centre enlarged under it (the patch outlined on the picture), captions under the enlargements. Built on
    matplotlib's Agg canvas (no display, no pyplot state); ``2 * rows * columns`` axes."""
    rows, cols = g.shape
    height, width = g.pictures[ORIGINAL].shape[1:3]
    top, left, h, w = patch_box(height, width, g.config.patch)
    cell = 1.45  # inches a picture
    dpi = max(100, math.ceil(max(height, width) / cell))  # no image pixel smaller than a screen pixel
    fig = Figure(figsize=(cell * cols, 2 * cell * rows + 0.7), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2 * rows, cols, squeeze=False)
    for r in range(rows):
        for c, name in enumerate(g.columns):
            picture, zoom = axes[2 * r, c], axes[2 * r + 1, c]
            image = g.pictures[name][r]
            picture.imshow(image, interpolation="nearest")
            picture.add_patch(Rectangle((left - 0.5, top - 0.5), w, h, fill=False, edgecolor="yellow", linewidth=0.8))
            zoom.imshow(enlarge(image, g.config.patch), interpolation="nearest")
            text, colour = _caption(g, name, r)
            zoom.set_xlabel(text, fontsize=8, color=colour)
            for ax in (picture, zoom):
                ax.set_xticks([])
                ax.set_yticks([])
            if r == 0:
                picture.set_title(name, fontsize=10)
    factor = max(1, round(1 / g.config.patch))
    fig.suptitle(f"Test images and their reconstructions ({g.scale} scale, images drawn with seed {g.config.seed}); "
                 f"under each, its outlined centre enlarged {factor}x;\nunder each A_i, classifier i's top-1 on "
                 f"that reconstruction ({RIGHT} right, {WRONG} wrong)", fontsize=9)
    return fig


def write_png(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` atomically (a temporary file renamed into place); fixed metadata, so the
    same pictures give the same bytes."""
    path = Path(path)
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", metadata={"Software": None}))
    return path


def make_gallery(ctx: RunContext, out: str | os.PathLike | None,
                 config: GalleryConfig = GalleryConfig()) -> tuple[Gallery, Figure]:
    """Reconstruct, draw, and write the PNG to ``out`` (None: not written); the pictures and the figure."""
    gallery = reconstruct(ctx, config)
    fig = draw(gallery)
    if out is not None:
        write_png(fig, out)
    return gallery, fig
