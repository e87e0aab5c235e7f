"""Names of classifiers, before any model is built: the paper's five by key or alias, and your own as
``label=SOURCE:NAME[@WEIGHTS]`` (the syntax only: :func:`parse_extra`). What a name builds, and whether
it exists (a torchvision architecture, a factory that imports, a weights file), is the registry's
(:mod:`repro.models.classifiers`), checked where models are built, before anything trains.

Torch-free, so that the configuration (:mod:`repro.config`) reads ``--classifiers`` with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from repro.errors import ReproError
from repro.vocabulary import PAPER_ALIASES, PAPER_CLASSIFIERS, PAPER_NAMES


def resolve_classifier(name: str) -> str:
    """The key (L, A, V, I, R) of a classifier given by key or alias, case-insensitively.

    >>> resolve_classifier("vgg16_bn"), resolve_classifier("l"), resolve_classifier("ResNet-50")
    ('V', 'L', 'R')
    """
    wanted = str(name).strip().lower()
    for key in PAPER_CLASSIFIERS:
        if wanted == key.lower() or wanted in PAPER_ALIASES[key]:
            return key
    valid = "; ".join(f"{k} ({', '.join(PAPER_ALIASES[k])})" for k in PAPER_CLASSIFIERS)
    raise ReproError(f"unknown classifier {name!r}; valid names: {valid}")


TORCHVISION = "torchvision"
FACTORY_WEIGHTS = "factory"
LABEL_PATTERN = r"[A-Za-z][A-Za-z0-9_]{0,31}"

# Labels an extra may not take (compared lower-cased): besides the paper's five and their aliases, every
# name results.json uses as a key. A label becomes a key of results.json's sections (``label`` and
# ``A_label``), and the claims drop extras by key at any depth (repro.claims.core.paper_view): a label
# "b" would drop LAB's b channel, "S" would make A_S. tests/test_extra_classifiers.py checks this list
# against the keys of real results.json files (all but "provenance", which records the configuration).
RESERVED_LABELS = frozenset({
    "s", "none", "original", "ae", "a", "b", "l",
    "accuracy", "alone_top1", "arithmetic", "baseline", "best", "bins", "checkerboard", "checkerboard_original",
    "clamp", "classifier", "classifier_training", "classifier_unchanged", "classifiers", "columns", "config",
    "corrected", "counts", "curves", "dtype", "encoding", "entropy", "epochs", "evaluate", "fig2_mse", "fig3_lab",
    "figures", "finetune",
    "first_bin", "geometric", "heldout", "heldout_loss", "heldout_top1", "high", "hist_distance", "images",
    "images_seen", "inter", "intra", "l_histogram", "l_p01", "l_p01_original", "l_p99", "l_p99_original",
    "l_range", "l_range_original", "l_tails", "lab", "levels", "low", "lr", "max", "mean_abs_diff", "mean_shift",
    "mi", "mi_shuffled", "min", "n_images", "n_pairs", "n_test", "nmi", "noise", "offset", "original_columns",
    "parameters", "per_image", "per_unit", "pixels_per_image", "pretrain", "provenance", "scale", "schema_version",
    "seed", "seeds", "shape", "shuffle_seed", "source", "step", "stop_reason", "sums", "timings_s", "top1", "top5",
    "total", "total_change", "train_loss", "train_mse", "train_top1", "trainable", "unit", "val_mse",
    "zlib_base64",
})


def _looks_like_path(weights: str) -> bool:
    """A weights text naming a file rather than a torchvision weights enum (which has no '/' and no '.').

    >>> _looks_like_path("IMAGENET1K_V1"), _looks_like_path("w.pt"), _looks_like_path("~/w"), _looks_like_path("a/b")
    (False, True, True, True)
    """
    return "/" in weights or "\\" in weights or "." in weights or weights.startswith("~")


@dataclass(frozen=True)
class ExtraSpec:
    """One of your own classifiers: ``label=SOURCE:NAME[@WEIGHTS]`` parsed (see the notes above)."""

    label: str
    text: str  # as typed after "label=", e.g. "torchvision:resnet18@DEFAULT"
    source: str  # "torchvision" or a module path
    name: str  # a torchvision architecture, or the factory's attribute path in the module
    weights: str | None = None  # None, a torchvision weights name, a file path, or "factory"

    def __str__(self) -> str:
        return f"{self.label}={self.text}"

    @property
    def is_torchvision(self) -> bool:
        return self.source == TORCHVISION

    @property
    def architecture(self) -> str:
        """The spec without its weights: what builds the network."""
        return f"{self.source}:{self.name}"

    @property
    def weights_kind(self) -> str | None:
        """None (random initialisation, trained here), "enum", "file" or "factory".

        >>> [parse_extra("x", t).weights_kind for t in ("torchvision:resnet18", "torchvision:resnet18@DEFAULT",
        ...                                            "m:f@./w.pt", "m:f@factory")]
        [None, 'enum', 'file', 'factory']
        """
        if self.weights is None:
            return None
        if self.weights == FACTORY_WEIGHTS:
            return "factory"
        return "file" if _looks_like_path(self.weights) else "enum"

    @property
    def trained(self) -> bool:
        """Trained by the classifiers stage (no weights given), as the paper's five at the small scales."""
        return self.weights is None

    @property
    def weights_path(self) -> Path | None:
        return Path(self.weights).expanduser() if self.weights_kind == "file" else None

    @property
    def rebuild_text(self) -> str:
        """The spec a model file keeps to rebuild the network (its state dict replaces the weights): a
        weights file is left out, so that the model file stays usable when that file moves.

        >>> parse_extra("x", "m:f@/tmp/w.pt").rebuild_text, parse_extra("x", "torchvision:resnet18@DEFAULT").rebuild_text
        ('m:f', 'torchvision:resnet18@DEFAULT')
        """
        return self.architecture if self.weights_kind == "file" else self.text


def check_label(label: str, where: str | None = None) -> None:
    """A one-line :class:`ReproError` unless ``label`` can name one of your own classifiers.

    >>> check_label("cnx")
    >>> check_label("vgg")
    Traceback (most recent call last):
    repro.errors.ReproError: classifier label 'vgg': it is a name of the paper's V (VGG-16-BN); choose another label
    """
    where = where or f"classifier label {label!r}"
    if not isinstance(label, str) or not re.fullmatch(LABEL_PATTERN, label):
        raise ReproError(f"{where}: a label starts with a letter and holds only letters, digits and '_' (at most "
                         "32 characters), since it names files and table columns (its autoencoder is A_<label>)")
    if label.lower().startswith("a_"):
        raise ReproError(f"{where}: a label must not start with 'A_', the prefix of the autoencoders' names")
    try:
        key = resolve_classifier(label)
    except ReproError:
        key = None
    if key is not None:
        raise ReproError(f"{where}: it is a name of the paper's {key} ({PAPER_NAMES[key]}); choose another label")
    if label.lower() in RESERVED_LABELS:
        raise ReproError(f"{where}: {label!r} is a name results.json uses; choose another label")


def parse_extra(label: str, text: str) -> ExtraSpec:
    """``label`` and ``SOURCE:NAME[@WEIGHTS]`` -> :class:`ExtraSpec`; the syntax only (nothing is imported).

    >>> parse_extra("cnx", "torchvision:convnext_tiny@DEFAULT")
    ExtraSpec(label='cnx', text='torchvision:convnext_tiny@DEFAULT', source='torchvision', name='convnext_tiny', weights='DEFAULT')
    >>> str(parse_extra("mine", " my_pkg.models:build "))
    'mine=my_pkg.models:build'
    """
    text = str(text).strip()
    where = f"classifier {label}={text}"
    check_label(label, where)
    body, at, weights = text.partition("@")
    source, colon, name = body.strip().partition(":")
    if not colon or not source or not name:
        raise ReproError(f"{where}: expected torchvision:ARCH or module.path:factory, optionally followed by @WEIGHTS")
    if not all(part.isidentifier() for part in source.split(".")):
        raise ReproError(f"{where}: {source!r} is not a module path (e.g. my_package.models) nor 'torchvision'")
    if not all(part.isidentifier() for part in name.split(".")):
        raise ReproError(f"{where}: {name!r} is not {'an architecture' if source == TORCHVISION else 'an attribute'} name")
    weights = weights.strip()
    if at and not weights:
        raise ReproError(f"{where}: nothing after '@'; give a torchvision weights name (e.g. DEFAULT), a state-dict "
                         "file, or 'factory'")
    spec = ExtraSpec(label, text, source, name, weights if at else None)
    kind = spec.weights_kind
    if spec.is_torchvision and kind == "factory":
        raise ReproError(f"{where}: '@factory' means a factory's own weights; a torchvision architecture takes a "
                         "weights name (e.g. @DEFAULT) or a state-dict file")
    if kind == "enum" and not spec.is_torchvision:
        raise ReproError(f"{where}: '@{weights}' is neither a file (a path with a '/' or an extension, e.g. ./w.pt) "
                         "nor 'factory'; weights names such as DEFAULT are torchvision's")
    if kind == "enum" and not re.fullmatch(r"[A-Za-z0-9_]+", weights):
        raise ReproError(f"{where}: {weights!r} is not a torchvision weights name (e.g. DEFAULT, IMAGENET1K_V1)")
    return spec
