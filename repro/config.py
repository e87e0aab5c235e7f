"""Run configurations: one typed dataclass tree per scale (smoke, cpu, gpu, paper).

A :class:`RunConfig` holds everything a run's numbers depend on, plus a few operational fields
(output folder, device, threads, checkpoint cadence) that do not change the numbers and so are left out
of the stage keys (:func:`stage_key`). Every field can be overridden from the command line: the common
ones have their own flags (``--epochs``, ``--data``, ``--classifiers L,V``, ``--out``, ``--device``),
and any field at all through ``--set section.field=value`` (e.g. ``--set pretrain.batch_size=64``).

Scales (see the README's "Scales" section for the budgets and the measured throughputs behind them):

- ``smoke``: scikit-learn's bundled digits (no download), tiny widths, one epoch per stage; tests the
  machinery, not the claims.
- ``cpu``: CIFAR-10 from ``$REPRO_DATA/cifar10``, the CIFAR-family classifier zoo, SegNet at a CIFAR
  width; the whole run fits an hour on 2 cores.
- ``gpu``: CIFAR-10 with wider models, bf16 autocast, channels_last, optional torch.compile.
- ``paper``: ImageNet folders, SegNet at full width, 256x256 pretraining crops, torchvision's
  ImageNet classifiers (LeNet-5 trained by the pipeline), several GPUs through torchrun.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import types
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from repro.errors import ReproError

SCALES = ("smoke", "cpu", "gpu", "paper")
ALL_CLASSIFIERS = ("L", "A", "V", "I", "R")  # the paper's order (Table 1); the models registry agrees
TRAINABLE = ("decoder", "encoder", "both")
DATASETS = ("digits", "cifar10", "imagenet")
DATA_ENV = "REPRO_DATA"


@dataclass
class DataConfig:
    """Where the images come from and how they are cut."""

    dataset: str = "digits"  # "digits" (bundled with scikit-learn), "cifar10" or "imagenet"
    root: str | None = None  # data root; None: $REPRO_DATA (see repro.data.resolve_root)
    download: bool = False  # cifar10 only: let torchvision download it when no copy is found
    image_size: int = 32  # evaluation/fine-tuning input side (paper: 224 center crops)
    resize: int | None = None  # paper: shorter side resized to 256 before the 224 center crop
    train_limit: int | None = None  # use a seeded subset of this many training images
    test_limit: int | None = None  # the first N test images of a seeded permutation
    pretrain_dir: str | None = None  # paper: a user-given image folder standing in for YFCC100m
    pretrain_size: int = 32  # AE pretraining crop side (paper: 256, Sec. 3.2)
    cache: bool = True  # decode small data sets once into a uint8 tensor file under <out>/cache
    num_workers: int = 0  # DataLoader workers (0: load in the training process)


@dataclass
class AEConfig:
    width: float = 1.0  # SegNet channel multiplier (1.0 = VGG-16 widths, 64..512)
    encoder_init: str = "random"  # "random" or "vgg16_bn" (torchvision's ImageNet VGG-16-BN features)


@dataclass
class PretrainConfig:
    """Sec. 3.2: MSE, SGD with momentum 0.9, lr 0.01, loss checked every N images, lr x0.2 after two
    checks without improvement."""

    epochs: int = 1
    batch_size: int = 32
    optimizer: str = "sgd"  # "sgd" (paper) or "adam" (cpu/gpu scales: see cpu())
    lr: float = 0.01
    momentum: float = 0.9  # SGD momentum (paper: 0.9); Adam's beta1
    weight_decay: float = 0.0
    check_every: int = 1_000_000  # images between loss checks (paper: 1M on YFCC100m)
    patience: int = 2  # checks without improvement before the lr is cut (paper: 2)
    factor: float = 0.2  # lr multiplier on a plateau (paper: 0.2)
    val_images: int = 1000  # test images for the validation MSE curve (Fig. 2), measured at each check
    augment: bool = True  # Sec. 3.2's augmentations (scale, rotation, shift, noise, blur, ...)


@dataclass
class ClassifiersConfig:
    keys: tuple[str, ...] = ALL_CLASSIFIERS
    family: str = "cifar"  # "cifar" (small inputs) or "imagenet" (torchvision architectures)
    width: float = 1.0  # channel multiplier of the CIFAR family
    pretrained: tuple[str, ...] = ()  # keys loaded with torchvision's ImageNet weights instead of trained
    epochs: int = 1
    epochs_by_key: dict[str, int] = field(default_factory=dict)  # per-classifier epochs (cost-balanced)
    batch_size: int = 128
    lr: float = 0.05  # peak of the one-cycle schedule
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    augment: bool = True  # random crop (padding 4) and horizontal flip

    def epochs_for(self, key: str) -> int:
        return int(self.epochs_by_key.get(key, self.epochs))


@dataclass
class FinetuneConfig:
    """Sec. 3.3: the classifier's cross-entropy trains a copy of A_S; the classifier stays fixed.

    The paper states neither optimiser nor schedule for this step; we use SGD with momentum (or Adam)
    and a cosine decay, and the classifiers' own training augmentation (crop and flip).
    """

    trainable: str = "decoder"  # "decoder" (the paper's choice), "encoder" or "both" (its supplement)
    epochs: int = 1
    batch_size: int = 64
    optimizer: str = "sgd"  # "sgd" or "adam"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    train_limit: int | None = None  # fine-tune on a seeded subset of the training split
    augment: bool = True


@dataclass
class EvalConfig:
    batch_size: int = 256
    noise_levels: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))  # Sec. 3.3.2
    noise_seed: int = 0
    noise_images: int | None = None  # the noise sweep uses the first N test images (None: all)
    nmi_bins: int = 64


@dataclass
class RunConfig:
    scale: str = "smoke"
    seed: int = 0
    out: str | None = None  # None: artifacts/<scale> (see out_dir)
    device: str = "auto"  # "auto": cuda when available, else cpu
    precision: str = "fp32"  # "fp32" or "bf16" (autocast on CUDA)
    channels_last: bool = False
    compile: bool = False
    threads: int | None = None  # torch.set_num_threads in the entry point (None: torch's default)
    checkpoint_every_steps: int = 0  # 0: only at epoch ends and by time
    checkpoint_every_s: float = 300.0
    data: DataConfig = field(default_factory=DataConfig)
    ae: AEConfig = field(default_factory=AEConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    classifiers: ClassifiersConfig = field(default_factory=ClassifiersConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    evaluate: EvalConfig = field(default_factory=EvalConfig)

    @property
    def out_dir(self) -> Path:
        """``--out``, else ``artifacts/<scale>`` of the checkout (or ``$REPRO_ARTIFACTS/<scale>``)."""
        from repro.paths import artifacts_dir

        return Path(self.out) if self.out else artifacts_dir(self.scale)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


# Fields that do not change any number a stage produces; left out of stage keys so that, e.g., a run
# resumed with another --out, device or thread count reuses the finished stages.
OPERATIONAL_FIELDS = frozenset(
    {"out", "device", "threads", "checkpoint_every_steps", "checkpoint_every_s", "compile", "num_workers", "cache"}
)


def smoke() -> RunConfig:
    """Minutes on 2 cores, offline: digits, tiny widths, one epoch per stage; the cpu scale's recipe."""
    return RunConfig(
        scale="smoke",
        threads=2,
        checkpoint_every_steps=4,  # several checkpoints per stage, so the resume test kills mid-stage
        data=DataConfig(dataset="digits", train_limit=512, test_limit=256, pretrain_size=32, image_size=32),
        ae=AEConfig(width=0.125),
        # 32 steps per stage; Adam at lr 0.01 gets A_S off the constant image in that many (val MSE
        # 0.030 against 0.145 at lr 1e-3, measured), so fine-tuning has a gradient worth testing.
        pretrain=PretrainConfig(epochs=1, batch_size=16, optimizer="adam", lr=1e-2, check_every=128, val_images=64),
        classifiers=ClassifiersConfig(family="cifar", width=0.25, epochs=1, batch_size=16, lr=0.02),
        finetune=FinetuneConfig(epochs=1, batch_size=16, optimizer="adam", lr=1e-3),
        evaluate=EvalConfig(batch_size=128, noise_images=64, nmi_bins=32),
    )


def cpu() -> RunConfig:
    """CIFAR-10 on 2 cores in under an hour (target 30 min); epochs sized from measured throughput
    (benchmarks/pipeline.py; numbers in the README's "Scales" section).

    Two departures from Sec. 3.2, both measured here: SegNet at width 0.5, because at 32x32 the
    bottleneck is 1x1 and width 0.25 leaves 128 numbers per image (1/24 of the pixels; width 0.5 gives
    1/12, the paper's 224x224 SegNet 1/6): after 9,600 images Adam reached MSE 0.0109 at width 0.25
    and 0.0063 at width 0.5. And Adam (lr 1e-3) instead of SGD (lr 0.01, momentum 0.9): the paper's
    SGD had MSE 0.047 after the same 9,600 images (0.019 at lr 0.05), and this scale sees 100,000
    images, not 92 million. The plateau schedule is the paper's.
    """
    return RunConfig(
        scale="cpu",
        threads=2,
        checkpoint_every_s=120.0,
        data=DataConfig(dataset="cifar10", pretrain_size=32, image_size=32),
        ae=AEConfig(width=0.5),
        pretrain=PretrainConfig(epochs=2, batch_size=32, optimizer="adam", lr=1e-3, check_every=10_000,
                                val_images=1000),
        classifiers=ClassifiersConfig(family="cifar", width=0.5, epochs=8, batch_size=128, lr=0.05,
                                      epochs_by_key={"L": 10, "A": 10, "V": 8, "I": 6, "R": 6}),
        # Adam at lr 1e-4 recovered more of A_S's loss than SGD (lr 0.01, momentum 0.9) in a probe on
        # VGG (A_S∘V 60.8%, V 69.3%): 64.4% vs 59.1% after 2,560 images, 63.6% vs 62.0% after 7,680.
        finetune=FinetuneConfig(epochs=1, batch_size=64, optimizer="adam", lr=1e-4, train_limit=20_000),
        evaluate=EvalConfig(batch_size=500, noise_images=1000, nmi_bins=64),
    )


def gpu() -> RunConfig:
    """CIFAR-10 with wider models on one H200-class GPU in under 10 minutes (not yet timed on one:
    the epochs are sized from FLOP counts; benchmarks/pipeline.py --scale gpu measures them)."""
    return RunConfig(
        scale="gpu",
        precision="bf16",
        channels_last=True,
        checkpoint_every_s=60.0,
        data=DataConfig(dataset="cifar10", pretrain_size=32, image_size=32, num_workers=8),
        ae=AEConfig(width=1.0),  # bottleneck 512 numbers per 32x32 image: 1/6, as the paper's SegNet at 224
        pretrain=PretrainConfig(epochs=10, batch_size=128, optimizer="adam", lr=1e-3, check_every=50_000,
                                val_images=2000),
        classifiers=ClassifiersConfig(family="cifar", width=1.0, epochs=20, batch_size=256, lr=0.1),
        finetune=FinetuneConfig(epochs=2, batch_size=128, optimizer="adam", lr=1e-4),
        evaluate=EvalConfig(batch_size=1000, noise_images=None, nmi_bins=64),
    )


def paper() -> RunConfig:
    """The paper's setting on ImageNet folders (several GPUs through torchrun).

    Evaluation uses 224x224 center crops of images resized to 256 for every classifier; Inception v3's
    wrapper resizes its input to 299 itself, so that every AE's reconstruction is computed once and
    fed to all classifiers (the cross grid, Table 2). The paper evaluates Inception at 299; our 224
    crop upsampled to 299 sees the same field of view at lower resolution.
    """
    return RunConfig(
        scale="paper",
        precision="bf16",
        channels_last=True,
        checkpoint_every_s=600.0,
        data=DataConfig(dataset="imagenet", image_size=224, resize=256, pretrain_size=256, num_workers=8),
        ae=AEConfig(width=1.0, encoder_init="vgg16_bn"),
        pretrain=PretrainConfig(epochs=1, batch_size=32, check_every=1_000_000, val_images=10_000),
        classifiers=ClassifiersConfig(
            family="imagenet", width=1.0, pretrained=("A", "V", "I", "R"), epochs=30, batch_size=256, lr=0.1,
            weight_decay=1e-4,
        ),
        finetune=FinetuneConfig(epochs=1, batch_size=64, lr=0.001),
        evaluate=EvalConfig(batch_size=200, noise_images=10_000, nmi_bins=64),
    )


SCALE_FACTORIES = {"smoke": smoke, "cpu": cpu, "gpu": gpu, "paper": paper}


def scale_config(name: str) -> RunConfig:
    try:
        return SCALE_FACTORIES[name]()
    except KeyError:
        raise ReproError(f"unknown scale {name!r}; choose one of {', '.join(SCALES)}") from None


# --- overrides --------------------------------------------------------------------------------------


def parse_classifiers(text: str) -> tuple[str, ...]:
    """``"L,V"`` -> ``("L", "V")``; names are checked against the paper's five.

    >>> parse_classifiers("l, V")
    ('L', 'V')
    """
    keys = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    bad = [k for k in keys if k not in ALL_CLASSIFIERS]
    if bad or not keys:
        raise ReproError(f"--classifiers {text!r}: expected a comma-separated subset of {','.join(ALL_CLASSIFIERS)}")
    if len(set(keys)) != len(keys):
        raise ReproError(f"--classifiers {text!r}: a classifier is named twice")
    return keys


def _parse_value(text: str, annotation: Any, name: str) -> Any:
    """Convert command-line text to a field's type (int, float, bool, str, optional, tuple, dict).

    >>> _parse_value("3", int | None, "x"), _parse_value("none", int | None, "x")
    (3, None)
    >>> _parse_value("0,0.5", tuple[float, ...], "x")
    (0.0, 0.5)
    >>> _parse_value("L:3,V:1", dict[str, int], "x")
    {'L': 3, 'V': 1}
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        if text.strip().lower() in ("none", "null", ""):
            return None
        return _parse_value(text, inner[0], name)
    if origin is tuple:
        return tuple(_parse_value(p.strip(), args[0], name) for p in text.split(",") if p.strip())
    if origin is dict:
        out = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition(":")
            if not sep:
                raise ReproError(f"--set {name}={text}: expected key:value pairs separated by commas")
            out[_parse_value(key.strip(), args[0], name)] = _parse_value(value.strip(), args[1], name)
        return out
    try:
        if annotation is bool:
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if annotation is int:
            return int(text)
        if annotation is float:
            if "/" in text:  # allow widths like 1/16
                num, den = text.split("/")
                return float(num) / float(den)
            return float(text)
        if annotation is str:
            return text
    except ValueError:
        raise ReproError(f"--set {name}={text}: not a valid {getattr(annotation, '__name__', annotation)}") from None
    raise ReproError(f"--set {name}: field of type {annotation} cannot be set from the command line")


def set_field(cfg: RunConfig, dotted: str, text: str) -> RunConfig:
    """A copy of ``cfg`` with ``section.field`` (or a top-level field) set from its text value."""
    parts = dotted.split(".")
    if len(parts) > 2:
        raise ReproError(f"--set {dotted}: expected 'field' or 'section.field'")
    hints = typing.get_type_hints(RunConfig)
    if len(parts) == 1:
        name = parts[0]
        if name not in hints or dataclasses.is_dataclass(hints[name]):
            raise ReproError(f"--set {dotted}: no such setting; top-level fields: {', '.join(_scalar_fields(RunConfig))}")
        return replace(cfg, **{name: _parse_value(text, hints[name], dotted)})
    section, name = parts
    if section not in hints or not dataclasses.is_dataclass(hints[section]):
        sections = [f.name for f in fields(RunConfig) if dataclasses.is_dataclass(hints[f.name])]
        raise ReproError(f"--set {dotted}: no section {section!r}; sections: {', '.join(sections)}")
    sub = getattr(cfg, section)
    sub_hints = typing.get_type_hints(type(sub))
    if name not in sub_hints:
        raise ReproError(f"--set {dotted}: no field {name!r} in {section}; fields: {', '.join(sub_hints)}")
    value = _parse_value(text, sub_hints[name], dotted)
    if section == "classifiers" and name in ("keys", "pretrained") and value:
        value = parse_classifiers(",".join(value))
    return replace(cfg, **{section: replace(sub, **{name: value})})


def _scalar_fields(cls: type) -> list[str]:
    hints = typing.get_type_hints(cls)
    return [f.name for f in fields(cls) if not dataclasses.is_dataclass(hints[f.name])]


def apply_overrides(
    cfg: RunConfig,
    *,
    epochs: int | None = None,
    data: str | None = None,
    classifiers: str | None = None,
    out: str | None = None,
    device: str | None = None,
    seed: int | None = None,
    trainable: str | None = None,
    threads: int | None = None,
    download: bool | None = None,
    sets: list[str] | tuple[str, ...] = (),
) -> RunConfig:
    """The common flags, then ``--set`` assignments in order (so ``--set`` wins)."""
    if epochs is not None:
        if epochs < 1:
            raise ReproError(f"--epochs {epochs}: must be at least 1")
        cfg = replace(
            cfg,
            pretrain=replace(cfg.pretrain, epochs=epochs),
            classifiers=replace(cfg.classifiers, epochs=epochs, epochs_by_key={}),
            finetune=replace(cfg.finetune, epochs=epochs),
        )
    if data is not None:
        cfg = replace(cfg, data=replace(cfg.data, root=data))
    if download is not None:
        cfg = replace(cfg, data=replace(cfg.data, download=download))
    if classifiers is not None:
        cfg = replace(cfg, classifiers=replace(cfg.classifiers, keys=parse_classifiers(classifiers)))
    if out is not None:
        cfg = replace(cfg, out=out)
    if device is not None:
        cfg = replace(cfg, device=device)
    if seed is not None:
        cfg = replace(cfg, seed=seed)
    if threads is not None:
        cfg = replace(cfg, threads=threads)
    if trainable is not None:
        cfg = replace(cfg, finetune=replace(cfg.finetune, trainable=trainable))
    for item in sets:
        name, sep, value = item.partition("=")
        if not sep:
            raise ReproError(f"--set {item!r}: expected section.field=value")
        cfg = set_field(cfg, name.strip(), value.strip())
    validate(cfg)
    return cfg


def validate(cfg: RunConfig) -> None:
    """Reject settings that cannot work, naming the setting."""
    if cfg.scale not in SCALES:
        raise ReproError(f"scale {cfg.scale!r}: choose one of {', '.join(SCALES)}")
    if cfg.data.dataset not in DATASETS:
        raise ReproError(f"data.dataset {cfg.data.dataset!r}: choose one of {', '.join(DATASETS)}")
    if cfg.finetune.trainable not in TRAINABLE:
        raise ReproError(f"finetune.trainable {cfg.finetune.trainable!r}: choose one of {', '.join(TRAINABLE)}")
    for section in ("pretrain", "finetune"):
        if getattr(cfg, section).optimizer not in ("sgd", "adam"):
            raise ReproError(f"{section}.optimizer {getattr(cfg, section).optimizer!r}: choose sgd or adam")
    if cfg.precision not in ("fp32", "bf16"):
        raise ReproError(f"precision {cfg.precision!r}: choose fp32 or bf16")
    if cfg.ae.encoder_init not in ("random", "vgg16_bn"):
        raise ReproError(f"ae.encoder_init {cfg.ae.encoder_init!r}: choose random or vgg16_bn")
    if cfg.classifiers.family not in ("cifar", "imagenet"):
        raise ReproError(f"classifiers.family {cfg.classifiers.family!r}: choose cifar or imagenet")
    if cfg.device != "auto" and not (cfg.device == "cpu" or cfg.device.startswith(("cuda", "mps", "xpu"))):
        raise ReproError(f"--device {cfg.device!r}: expected auto, cpu, cuda or cuda:N")
    for section, name in (("pretrain", "batch_size"), ("classifiers", "batch_size"), ("finetune", "batch_size"),
                          ("evaluate", "batch_size"), ("pretrain", "check_every")):
        if getattr(getattr(cfg, section), name) < 1:
            raise ReproError(f"{section}.{name}: must be at least 1")
    if any(not 0.0 <= s <= 1.0 for s in cfg.evaluate.noise_levels):
        raise ReproError("evaluate.noise_levels: every level must lie in [0, 1]")
    unknown = set(cfg.classifiers.epochs_by_key) - set(ALL_CLASSIFIERS)
    if unknown:
        raise ReproError(f"classifiers.epochs_by_key: unknown classifier(s) {', '.join(sorted(unknown))}")


def resolve_device(name: str) -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# --- keys -------------------------------------------------------------------------------------------


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def _strip_operational(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_operational(v) for k, v in obj.items() if k not in OPERATIONAL_FIELDS}
    return obj


def stage_key(*parts: Any) -> str:
    """A short stable hash of config sections and upstream keys; a stage's cache is valid while its key is.

    Dataclasses are hashed without their operational fields (out, device, threads, ...).

    >>> stage_key({"a": 1}, "x") == stage_key({"a": 1}, "x")
    True
    >>> stage_key(PretrainConfig()) != stage_key(PretrainConfig(lr=0.1))
    True
    """
    payload = []
    for part in parts:
        if dataclasses.is_dataclass(part) and not isinstance(part, type):
            part = {"type": type(part).__name__, **asdict(part)}
        payload.append(_strip_operational(_jsonable(part)))
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def from_dict(data: dict[str, Any]) -> RunConfig:
    """Rebuild a :class:`RunConfig` from :meth:`RunConfig.to_dict` output (e.g. a results.json)."""
    hints = typing.get_type_hints(RunConfig)
    kwargs: dict[str, Any] = {}
    for f in fields(RunConfig):
        if f.name not in data:
            continue
        value = data[f.name]
        if dataclasses.is_dataclass(hints[f.name]):
            sub_hints = typing.get_type_hints(hints[f.name])
            value = hints[f.name](**{
                k: tuple(v) if typing.get_origin(sub_hints[k]) is tuple else v for k, v in value.items() if k in sub_hints
            })
        kwargs[f.name] = value
    return RunConfig(**kwargs)


def env_data_root() -> str | None:
    return os.environ.get(DATA_ENV) or None
