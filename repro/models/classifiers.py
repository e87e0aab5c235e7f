"""The five classifiers C = {L, A, V, I, R} (paper Sec. 3.3) at two scales ("families").

* ``imagenet`` (paper scale): torchvision's AlexNet, VGG-16-BN, Inception v3 (299x299) and ResNet-50,
  with ImageNet weights through torchvision's weights API or from a local state-dict file, and a
  LeNet-5 adapted to 224x224 input (the paper trained its own; torchvision has none).
* ``cifar`` (32x32, CPU and GPU scales): five small networks, one per family, keeping what defines
  each family (see the classes below). ``width`` multiplies their channels; the CPU scale uses width
  0.5, the GPU scale width 1.0 (see :mod:`repro.config`).

:class:`Classifier` wraps a raw network: it takes [0, 1] RGB images of any size, resizes them to the
network's input size (antialiased bilinear), normalises them and returns logits.

Beside the five, a run may hold classifiers of your own, each a label and a spec such as
``cnx=torchvision:convnext_tiny`` or ``mine=my_package.models:build@/w.pt``: this registry decides what
such a spec means too (see "Your own classifiers" below: :func:`parse_extra`, :func:`build_extra`).

CIFAR widths: width 1.0 is chosen so that each net trains at >= 1,000 images/s on the 2-core CPU of
the development machine (batch 128, float32, forward + backward + SGD step), keeping its family's
defining structure. Measured with ``python benchmarks/models.py`` (NHWC, see ``_channels_last``):

=====  =============  ==========  ==========  ===========  ===========  ==========  ==========
key    net            parameters  MACs/img    train 2 thr  train 1 thr  eval 2 thr  eval 1 thr
=====  =============  ==========  ==========  ===========  ===========  ==========  ==========
L      LeNet-5        62,006      0.65 M      17,600       12,600       49,700      24,900
A      AlexNet        2,199,466   15.67 M     3,160        1,860        13,100      6,680
V      VGG-16-BN      923,130     19.91 M     1,670        1,360        9,040       4,910
I      Inception v3   154,346     15.50 M     1,390        890          5,750       3,390
R      ResNet-50      222,122     9.93 M      1,940        980          8,310       4,850
=====  =============  ==========  ==========  ===========  ===========  ==========  ==========

(images/s.) The machine is shared: the 2-thread columns come from moments when other processes used
< 5% of the CPUs; the 1-thread columns were measured while another job held the other core. With
the default OpenMP wait policy, 2 threads on a machine where another job holds a core collapse to
~50 images/s (``--omp-passive`` in the benchmark: use OMP_WAIT_POLICY=PASSIVE or 1 thread there).

Learnability check (not a tuned result): 4 epochs on 10,000 CIFAR-10 training images (batch 128, SGD
nesterov momentum 0.9, weight decay 5e-4, one-cycle lr 0.05, horizontal flips), test accuracy on
2,000 test images: L 48%, A 39%, V 62%, I 63%, R 57%, all still rising at the last epoch.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from repro.classifier_names import (  # noqa: F401 - LABEL_PATTERN, RESERVED_LABELS, check_label: read from here too
    FACTORY_WEIGHTS,
    LABEL_PATTERN,
    RESERVED_LABELS,
    TORCHVISION,
    ExtraSpec,
    check_label,
    parse_extra,
    resolve_classifier,
)
from repro.errors import ReproError
from repro.vocabulary import PAPER_ALIASES, PAPER_CLASSIFIERS, PAPER_NAMES, a_type
from repro.models.weights import describe_mismatch, load_state_dict_file

FAMILIES = ("imagenet", "cifar")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# CIFAR-10 training-set channel statistics (the usual values; computed on the 50,000 training images).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    """NHWC memory layout for the CIFAR nets' convolutions.

    Measured on the development CPU (batch 128, 32x32, training step, 1 thread; ``benchmarks/models.py
    --nchw`` for the other layout): faster than NCHW by 1.1x (AlexNet), 1.3x (VGG, ResNet) and 1.9x
    (Inception), mostly in 1x1 convolutions and pooling, whose NCHW CPU kernels are slow at these
    small channel counts. Same results up to float rounding; a no-op when the input is NHWC already.
    """
    return x.contiguous(memory_format=torch.channels_last)


def _w(channels: int, width: float) -> int:
    """Channels after the width multiplier (at least 1).

    >>> _w(64, 0.5), _w(6, 0.1), _w(48, 1.5)
    (32, 1, 72)
    """
    return max(1, round(channels * width))


# ---------------------------------------------------------------------------------------------------
# LeNet-5 (both scales)
# ---------------------------------------------------------------------------------------------------


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998): two 5x5 convolutions with 2x2 pooling, then three fully connected layers.

    Modernised as usual (ReLU, max pooling, RGB input). At 32x32 the feature map before the first FC
    layer is 16 x 5 x 5, as in the original. For 224x224 (paper scale, "LeNet-5 modified to take input
    images of size 224 x 224", Sec. 3.3) the paper does not say what was modified; we keep every layer
    and let the first FC layer take the larger map (16 x 53 x 53 = 44,944 inputs), the smallest change
    that keeps the architecture.
    """

    def __init__(self, num_classes: int, input_size: int = 32, width: float = 1.0) -> None:
        super().__init__()
        c1, c2, f1, f2 = _w(6, width), _w(16, width), _w(120, width), _w(84, width)
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )  # fmt: skip
        side = ((input_size - 4) // 2 - 4) // 2
        if side < 1:
            raise ReproError(f"LeNet-5 needs an input of at least 16x16 pixels, got {input_size}")
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c2 * side * side, f1), nn.ReLU(inplace=True),
            nn.Linear(f1, f2), nn.ReLU(inplace=True),
            nn.Linear(f2, num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# ---------------------------------------------------------------------------------------------------
# CIFAR-scale networks
# ---------------------------------------------------------------------------------------------------


class AlexNetCifar(nn.Module):
    """AlexNet (Krizhevsky et al. 2012) scaled to 32x32: five convolutions, three FC layers.

    Keeps AlexNet's traits and its resolution schedule: a large, strided first kernel (5x5 stride 2,
    the 32-pixel analogue of 11x11 stride 4 at 224), overlapping 3x3/2 max pooling after conv1, conv2
    and conv5, 5x5 then 3x3 kernels, ReLU, dropout before the first two FC layers, no batch
    normalisation. Maps: 16 -> 8 (conv2) -> 4 (conv3-5) -> 2, as 55 -> 27 -> 13 -> 6 at 224.
    Width 1.0: torchvision's AlexNet channels (64, 192, 384, 256, 256) halved, FC layers 1024 wide.
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0, input_size: int = 32) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = (_w(c, width) for c in (32, 96, 192, 128, 128))
        f = _w(1024, width)
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, 5, stride=2, padding=2), nn.ReLU(inplace=True),  # 16x16
            nn.MaxPool2d(3, stride=2, padding=1),  # 8x8
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),  # 4x4
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),  # 2x2
        )  # fmt: skip
        _pool_to_head(self.features, input_size, 2)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.5), nn.Linear(c5 * 2 * 2, f), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(f, f), nn.ReLU(inplace=True),
            nn.Linear(f, num_classes),
        )  # fmt: skip
        # He initialisation for the ReLU layers. With PyTorch's default (uniform, variance 1/(3 fan_in))
        # the signal shrinks ~6x per layer in this 8-layer net without BN; in a 4-epoch check on
        # 10,000 CIFAR images it reached 29% test accuracy (39% with He init; LeNet-5: 48%).
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(_channels_last(x)))


def _pool_to_head(features: nn.Sequential, input_size: int, side: int) -> None:
    """At an input side other than 32 (the instrument's calibration at 64 px, docs/instrument.md), pool the
    last map to the ``side`` x ``side`` the head takes at 32: the smallest change that keeps the network's
    layers. At 32 nothing is added, so the 32-pixel networks and their state dicts are unchanged (a layer
    without parameters, appended, would not change the keys either)."""
    if input_size != 32:
        features.append(nn.AdaptiveAvgPool2d(side))


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, padding: int | None = None) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2 if padding is None else padding, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class VGGCifar(nn.Module):
    """VGG-16-BN's layout (stages of 2, 2, 3, 3, 3 conv3x3 + BN + ReLU, 2x2 max pooling) at 1/4 width.

    At width 1.0 the stages have 16, 32, 64, 128, 128 channels (the same layers as the SegNet encoder
    at width 0.25); after five poolings the map is 1x1 and a single linear layer classifies it (the
    usual CIFAR head; VGG's 4096-wide FC layers would dominate the cost at this size).
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0, input_size: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for c, n in zip((16, 32, 64, 128, 128), (2, 2, 3, 3, 3)):
            for _ in range(n):
                layers.append(_conv_bn(cin, _w(c, width), 3))
                cin = _w(c, width)
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        _pool_to_head(self.features, input_size, 1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(cin, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(_channels_last(x)))


class Bottleneck(nn.Module):
    """ResNet-50's bottleneck block: 1x1 reduce, 3x3 (carries the stride, as torchvision's v1.5), 1x1 expand x4."""

    expansion = 4

    def __init__(self, cin: int, mid: int, stride: int = 1) -> None:
        super().__init__()
        cout = mid * self.expansion
        self.body = nn.Sequential(
            _conv_bn(cin, mid, 1),
            _conv_bn(mid, mid, 3, stride=stride),
            nn.Conv2d(mid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        # No zero-init of the last BN's scale (torchvision's default, zero_init_residual=False): in a
        # 4-epoch check on 10,000 CIFAR images it gave 41% test accuracy against 57% without.
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:  # projection shortcut, as ResNet-50's first block of a stage
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class ResNetCifar(nn.Module):
    """Bottleneck ResNet for 32x32: ResNet-50's blocks and layout, shrunk.

    3x3 stem at 32x32 (32 channels), then three stages of bottleneck blocks (1x1 reduce, 3x3, 1x1
    expand x4, residual addition; projection shortcut where the shape changes) at 16, 8 and 4
    pixels, global average pooling, linear. Like ResNet-50, whose stem brings 224 down to 56 before
    the first stage, every stage runs on a reduced grid: keeping the first stage at 32x32, as the
    CIFAR ResNets of He et al. 2016 do, made training memory-bound on the 2-core CPU (a 32/16/8-pixel
    variant with inner widths 8, 16, 32 and (3, 3, 3) blocks: 12.4 M MACs, 57-80 k parameters, ~520
    training images/s on one thread against ~980 for this one). Width 1.0: inner widths 16, 32, 64
    (outputs 64, 128, 256), (2, 2, 2) blocks: 20 layers.
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0, blocks: tuple[int, ...] = (2, 2, 2),
                 input_size: int = 32) -> None:  # any side: the head pools globally
        super().__init__()
        cin = _w(32, width)
        self.stem = _conv_bn(3, cin, 3)
        stages: list[nn.Module] = []
        for mid, n in zip((16, 32, 64), blocks):
            mid = _w(mid, width)
            for j in range(n):
                stages.append(Bottleneck(cin, mid, stride=2 if j == 0 else 1))
                cin = mid * Bottleneck.expansion
        self.stages = nn.Sequential(*stages)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.stages(self.stem(_channels_last(x))))


class InceptionModule(nn.Module):
    """Inception v3's "module A": four parallel branches concatenated along channels.

    1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 -> 3x3 (the factorised 5x5 of Inception v3) | 3x3 avg pool -> 1x1.
    The three 1x1 convolutions that read the module's input run as one convolution whose output is
    split (``self.reduce``), the same function with the same parameters as three separate ones
    (convolution and BatchNorm act per output channel), one CPU kernel call instead of three: at
    these small widths the per-call overhead dominates (measured 1.1-1.2x faster training on CPU).
    """

    def __init__(self, cin: int, b1: int, b3: int, b5: int, bp: int) -> None:
        super().__init__()
        self.splits = (b1, b3, b5)
        self.reduce = _conv_bn(cin, b1 + b3 + b5, 1)  # branch 1's conv and branches 2-3's 1x1 reductions
        self.b3 = _conv_bn(b3, b3, 3)
        self.b5 = nn.Sequential(_conv_bn(b5, b5, 3), _conv_bn(b5, b5, 3))
        self.bp = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False), _conv_bn(cin, bp, 1))
        self.out_channels = b1 + b3 + b5 + bp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y1, y3, y5 = torch.split(self.reduce(x), self.splits, dim=1)
        return torch.cat([y1, self.b3(y3), self.b5(y5), self.bp(x)], dim=1)


class ReductionModule(nn.Module):
    """Inception v3's grid reduction: a strided 3x3 conv beside a strided 3x3 max pool, concatenated."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = _conv_bn(cin, cout, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.out_channels = cin + cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.pool(x)], dim=1)


class InceptionCifar(nn.Module):
    """Small Inception for 32x32 (layout after Zhang et al. 2017's CIFAR Inception, modules of Inception v3).

    Stem: conv3x3 + BN + ReLU at 32x32 (32 channels); reduction to 16x16; one Inception module
    (4 branches of 16); reduction to 8x8; two modules (4 branches of 32); global average pooling;
    linear. As in Inception v3, the multi-branch modules run on reduced grids.
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0, input_size: int = 32) -> None:  # any side: global pooling
        super().__init__()
        cin = _w(32, width)
        layers: list[nn.Module] = [_conv_bn(3, cin, 3)]
        plan: list[tuple[str, tuple[int, ...]]] = [
            ("red", (48,)),
            ("inc", (16, 16, 16, 16)),
            ("red", (64,)),
            ("inc", (32, 32, 32, 32)), ("inc", (32, 32, 32, 32)),
        ]  # fmt: skip
        for kind, cs in plan:
            ws = tuple(_w(c, width) for c in cs)
            m: InceptionModule | ReductionModule
            m = InceptionModule(cin, *ws) if kind == "inc" else ReductionModule(cin, *ws)
            layers.append(m)
            cin = m.out_channels
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(_channels_last(x)))


# ---------------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------------


def _check_width_one(name: str, width: float) -> None:
    if width != 1.0:
        raise ReproError(
            f"{name} at the imagenet scale is torchvision's fixed architecture; width must be 1.0, got {width}"
        )


def _build_torchvision(tv_name: str, display: str, num_classes: int, width: float = 1.0) -> nn.Module:
    import torchvision

    _check_width_one(display, width)
    kwargs: dict = {"weights": None, "num_classes": num_classes}
    if tv_name == "inception_v3":
        # torchvision's defaults: aux classifier present (used in training), absent from the
        # output in eval mode. init_weights=False skips the slow scipy truncated-normal init.
        # transform_input=True, as torchvision sets it with its ImageNet weights (ported from
        # TensorFlow, they expect [-1, 1] inputs; the flag maps ImageNet-normalised inputs there),
        # so that torchvision's checkpoint also loads correctly as a local file. For a net trained
        # here it is a fixed per-channel affine map that training absorbs.
        kwargs.update(aux_logits=True, init_weights=False, transform_input=True)
    return torchvision.models.get_model(tv_name, **kwargs)


def _torchvision_builder(tv_name: str, display: str) -> Callable[..., nn.Module]:
    # functools.partial of a module-level function (not a closure), so a Classifier stays picklable.
    return functools.partial(_build_torchvision, tv_name, display)


def _lenet5_224(num_classes: int, width: float = 1.0) -> LeNet5:
    return LeNet5(num_classes, input_size=224, width=width)


def _lenet5_cifar(num_classes: int, width: float = 1.0, input_size: int = 32) -> LeNet5:
    return LeNet5(num_classes, input_size=input_size, width=width)


@dataclass(frozen=True)
class ClassifierSpec:
    """One classifier of the zoo: its names, per-family input size and normalisation, and builders."""

    key: str
    name: str
    aliases: tuple[str, ...]
    torchvision_name: str | None
    imagenet_input_size: int
    imagenet_builder: Callable[..., nn.Module] = field(repr=False, compare=False)
    cifar_builder: Callable[..., nn.Module] = field(repr=False, compare=False)
    cifar_input_size: int = 32
    # One of your own classifiers (see "Your own classifiers" below), None for the paper's five.
    extra: ExtraSpec | None = None
    imagenet_normalization: tuple[tuple[float, ...], tuple[float, ...]] | None = None  # None: ImageNet's

    def input_size(self, family: str) -> int | None:
        """The side the wrapper resizes inputs to; None for a factory's module, which declares its own
        (an ``input_size`` attribute) or takes the images as they come."""
        if self.extra is not None and not self.extra.is_torchvision:
            return None
        return self.imagenet_input_size if _check_family(family) == "imagenet" else self.cifar_input_size

    def normalization(self, family: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """(mean, std) applied to [0, 1] RGB inputs; None for a factory's module, which normalises itself."""
        if self.extra is not None and not self.extra.is_torchvision:
            return None
        if _check_family(family) == "imagenet":
            return self.imagenet_normalization or (IMAGENET_MEAN, IMAGENET_STD)
        return (CIFAR10_MEAN, CIFAR10_STD)

    def build_raw(self, family: str, num_classes: int, width: float = 1.0, input_size: int | None = None) -> nn.Module:
        """The bare network (random initialisation), without resizing or normalisation. ``input_size``: the
        side a network of the paper's five in the cifar family is built for (None: 32)."""
        builder = self.imagenet_builder if _check_family(family) == "imagenet" else self.cifar_builder
        if num_classes < 1:
            raise ReproError(f"num_classes must be >= 1, got {num_classes}")
        if not (width > 0):
            raise ReproError(f"width must be > 0, got {width}")
        if input_size not in (None, self.cifar_input_size):
            if family != "cifar" or self.extra is not None:
                raise ReproError(f"{self.name}: an input side other than {self.cifar_input_size} is for the paper's "
                                 f"five of the cifar family, got {input_size} ({family})")
            return builder(num_classes=num_classes, width=width, input_size=input_size)
        return builder(num_classes=num_classes, width=width)


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ReproError(f"unknown model family {family!r}; choose one of: {', '.join(FAMILIES)}")
    return family


_SPECS: dict[str, ClassifierSpec] = {
    s.key: s
    for s in (
        ClassifierSpec(
            "L", PAPER_NAMES["L"], PAPER_ALIASES["L"], None, 224,
            imagenet_builder=_lenet5_224, cifar_builder=_lenet5_cifar,
        ),
        ClassifierSpec(
            "A", PAPER_NAMES["A"], PAPER_ALIASES["A"], "alexnet", 224,
            imagenet_builder=_torchvision_builder("alexnet", "AlexNet"), cifar_builder=AlexNetCifar,
        ),
        ClassifierSpec(
            "V", PAPER_NAMES["V"], PAPER_ALIASES["V"], "vgg16_bn", 224,
            imagenet_builder=_torchvision_builder("vgg16_bn", "VGG-16-BN"), cifar_builder=VGGCifar,
        ),
        ClassifierSpec(
            "I", PAPER_NAMES["I"], PAPER_ALIASES["I"], "inception_v3", 299,
            imagenet_builder=_torchvision_builder("inception_v3", "Inception v3"), cifar_builder=InceptionCifar,
        ),
        ClassifierSpec(
            "R", PAPER_NAMES["R"], PAPER_ALIASES["R"], "resnet50", 224,
            imagenet_builder=_torchvision_builder("resnet50", "ResNet-50"), cifar_builder=ResNetCifar,
        ),
    )
}  # fmt: skip
#: The registry's keys, in the paper's order; the torch-free modules (config, paper) read the same keys
#: from repro.vocabulary, so the registry must hold exactly those.
CLASSIFIER_KEYS = tuple(_SPECS)
assert CLASSIFIER_KEYS == PAPER_CLASSIFIERS, f"registry {CLASSIFIER_KEYS} != repro.vocabulary {PAPER_CLASSIFIERS}"


def get_spec(name: str) -> ClassifierSpec:
    return _SPECS[resolve_classifier(name)]


# ---------------------------------------------------------------------------------------------------
# Wrapper
# ---------------------------------------------------------------------------------------------------


class Classifier(nn.Module):
    """[0, 1] RGB images of any size -> logits.

    Resizes to ``input_size`` x ``input_size`` (bilinear, antialiased when shrinking; no cropping,
    which is the data pipeline's job), normalises with the family's mean/std and runs the raw network
    ``model``. Always returns a plain logits tensor (Inception v3's training-mode aux output is dropped
    here; a training loop that wants it can call ``model`` directly).

    A factory's module (one of your own classifiers, ``label=module:factory``) maps [0, 1] RGB to
    logits itself: the wrapper does not normalise its input, and resizes it only to the side the
    module declares as an ``input_size`` attribute (``input_size`` None: no resizing).
    ``input_size`` given: the side ``model`` was built for (:meth:`ClassifierSpec.build_raw`).
    """

    def __init__(self, spec: ClassifierSpec, model: nn.Module, family: str, input_size: int | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.family = _check_family(family)
        self.model = model
        size = spec.input_size(family) if input_size is None else input_size
        self.input_size = _declared_input_size(spec, model) if size is None else size
        norm = spec.normalization(family)
        self.normalizes = norm is not None
        # A torchvision architecture adapted to 32x32 gets NHWC inputs, as the zoo's CIFAR nets do
        # (_channels_last): MobileNet v3 small trained 1.6x faster (490 vs 303 images/s, batch 128, one
        # thread); the same results up to float rounding.
        self.nhwc = spec.extra is not None and spec.extra.is_torchvision and self.family == "cifar"
        mean, std = norm if norm is not None else ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
        # Non-persistent: the state dict of a Classifier is its network's, under "model.".
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self._frozen = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ReproError(f"{self.spec.name} expects a (batch, 3, height, width) tensor, got shape {tuple(x.shape)}")
        s = self.input_size
        if s is not None and tuple(x.shape[-2:]) != (s, s):
            # In float32: the antialiased kernel has no bfloat16 version on the CPU (a bf16 AE output,
            # e.g. 224 -> 299 for Inception, raised NotImplementedError), and the normalisation below
            # promotes to float32 against the float32 mean/std anyway.
            x = F.interpolate(x.float(), size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        if self.nhwc:
            x = _channels_last(x)
        out = self.model((x - self.mean) / self.std if self.normalizes else x)
        if isinstance(out, torch.Tensor):
            return out
        logits = getattr(out, "logits", None)  # torchvision InceptionOutputs (training mode)
        if isinstance(logits, torch.Tensor):
            return logits
        if isinstance(out, (tuple, list)) and out:
            return out[0]
        return out  # not logits: check_classifier_output says so for a classifier of your own

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> Classifier:
        """Fix the classifier for fine-tuning an AE through it (Sec. 3.3: its parameters never change).

        Eval mode (kept after ``.train()``: BN uses and keeps its running statistics, dropout is off),
        ``requires_grad=False`` on every parameter; gradients still flow through to the input.
        """
        self._frozen = True
        self.requires_grad_(False)
        return self.train(False)

    def train(self, mode: bool = True) -> Classifier:
        return super().train(mode and not self._frozen)


def build_classifier(
    name: str,
    *,
    family: str,
    num_classes: int,
    width: float = 1.0,
    weights: str | os.PathLike | None = None,
    spec: str | None = None,
    spec_weights: bool = True,
    input_size: int | None = None,
) -> Classifier:
    """Build classifier ``name`` (key or alias) of ``family`` ("imagenet" or "cifar").

    weights: None for random initialisation; "imagenet" for torchvision's ImageNet weights (imagenet
    family, num_classes 1000; read from torch's hub cache, downloaded when missing); or the path of
    a local state-dict file (of the raw network, or of a :class:`Classifier` with "model." keys).

    spec: one of your own classifiers, ``name`` being its label: where it comes from, e.g.
    ``"torchvision:resnet18"`` or ``"my_pkg.models:build@/w.pt"`` (:func:`parse_extra`). Its weights
    are the spec's (after ``@``), loaded unless ``spec_weights`` is False (a model file's state dict
    replaces them: :func:`repro.pipeline.model_files.load_classifier`).

    input_size: the side one of the paper's five of the cifar family is built for and given (None: 32);
    e.g. 64 for CIFAR-10 images resized to 64 (docs/instrument.md).
    """
    if spec is not None:
        if weights is not None:
            raise ValueError("the weights of one of your own classifiers are part of its spec (after '@')")
        return build_extra(parse_extra(name, spec), family=family, num_classes=num_classes, width=width,
                           load_weights=spec_weights)
    zoo = get_spec(name)
    _check_family(family)
    if isinstance(weights, str) and weights.lower() == "imagenet":
        model = _build_with_imagenet_weights(zoo, family, num_classes, width)
    else:
        model = zoo.build_raw(family, num_classes, width, input_size)
        if weights is not None:
            _load_local_weights(model, weights)
    return Classifier(zoo, model, family, input_size)


def _load_local_weights(model: nn.Module, path: str | os.PathLike) -> None:
    from torchvision.models import Inception3


    state = load_state_dict_file(path)
    if all(k.startswith("model.") for k in state):  # saved from a Classifier
        state = {k[len("model."):]: v for k, v in state.items()}
    if isinstance(model, Inception3) and model.AuxLogits is not None:
        # A file trained without the aux classifier still fits: drop the aux head (unused in eval).
        if not any(k.startswith("AuxLogits.") for k in state):
            model.AuxLogits = None
            model.aux_logits = False
    problem = describe_mismatch(state, model.state_dict())
    if problem:
        raise ReproError(f"weights file {os.fspath(path)} does not fit {type(model).__name__}: {problem}")
    model.load_state_dict(state, strict=True)


def _build_with_imagenet_weights(spec: ClassifierSpec, family: str, num_classes: int, width: float) -> nn.Module:
    if family != "imagenet":
        raise ReproError(
            f"ImageNet weights exist only for the imagenet family; {spec.name} of the {family} family must be "
            "trained (weights=None) or loaded from a state-dict file"
        )
    if spec.torchvision_name is None:
        raise ReproError(
            f"{spec.name} has no ImageNet weights in torchvision (the paper trained its own); "
            "train it or pass a local state-dict file as weights"
        )
    _check_width_one(spec.name, width)
    import torch.hub
    import torchvision

    enum = torchvision.models.get_model_weights(spec.torchvision_name).DEFAULT
    n = len(enum.meta["categories"])
    if num_classes != n:
        raise ReproError(f"ImageNet weights of {spec.name} have {n} classes; num_classes is {num_classes}")
    try:
        # get_model with a Weights enum reads torch.hub's cache ($TORCH_HOME/hub/checkpoints) and
        # downloads the file when it is missing.
        return torchvision.models.get_model(spec.torchvision_name, weights=enum)
    except Exception as err:
        if isinstance(err, ReproError):
            raise
        raise ReproError(
            f"could not load torchvision ImageNet weights {enum} for {spec.name} ({enum.url}) into "
            f"{torch.hub.get_dir()}/checkpoints: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}; "
            "download the file there, or pass a local state-dict file as weights"
        ) from err


# ---------------------------------------------------------------------------------------------------
# Your own classifiers: named extras beside the paper's five
# ---------------------------------------------------------------------------------------------------
#
# A run's classifiers are the paper's letters plus extras, each a user label and where the network
# comes from: ``label=SOURCE:NAME[@WEIGHTS]`` (e.g. ``--classifiers L,V,cnx=torchvision:convnext_tiny``).
#
# * ``torchvision:ARCH``: a torchvision classification architecture (``torchvision.models.list_models``).
#   At the cifar family (smoke, cpu, gpu scales) it is adapted to 32x32 inputs the way the zoo's CIFAR
#   family is (:func:`adapt_to_32`), gets the data's number of classes and CIFAR-10 normalisation, and
#   is trained by the classifiers stage like the paper's five. At the imagenet family (paper scale) it
#   is torchvision's own architecture at its own input size and normalisation (from its weights'
#   metadata, which needs no download).
# * ``module.path:factory``: a callable (function or class) returning an ``nn.Module`` that maps
#   [0, 1] RGB images to logits; it normalises its input itself, and declares a fixed input side as an
#   ``input_size`` attribute if it has one (the wrapper then resizes to it; otherwise no resizing).
#   It is called with ``num_classes=`` when it takes that argument. Models of other libraries (timm,
#   Hugging Face) come in this way, without being dependencies of this package.
# * ``@WEIGHTS``: none (random initialisation, trained by the pipeline); a torchvision weights name
#   (``DEFAULT``, ``IMAGENET1K_V1``; torchvision sources, imagenet family); a local state-dict file (a
#   path holding a ``/`` or a ``.``, loaded with ``weights_only=True``); or ``factory`` (the factory's
#   module comes with its weights). A classifier with weights is used as it is, not trained.
#
# Everything else goes where the paper's five go (fine-tuned AE ``A_<label>``, Table 1, the cross grid,
# RRC, lattices, nMI, noise, LAB, the report); the claims read L, A, V, I, R only.

def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:300]}" if text else type(err).__name__


def _torchvision_architectures() -> list[str]:
    import torchvision

    return torchvision.models.list_models(module=torchvision.models)  # classification models only


def _torchvision_enum(spec: ExtraSpec):
    """The torchvision weights enum the spec names (``@DEFAULT``, ``@IMAGENET1K_V1``), else None."""
    if spec.weights_kind != "enum":
        return None
    import torchvision

    members = torchvision.models.get_model_weights(spec.name)
    wanted = spec.weights.upper()
    if wanted == "DEFAULT":
        return members.DEFAULT
    if wanted not in members.__members__:
        raise ReproError(f"classifier {spec}: torchvision has no weights {spec.weights!r} for {spec.name}; it has "
                         f"{', '.join(members.__members__)}")
    return members[wanted]


def _import_factory(spec: ExtraSpec) -> Callable[..., object]:
    import importlib
    import sys

    # As `python -m` does: a module in the working folder is found also when repro runs as a console script.
    # Appended, so that it never shadows an installed package.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        obj: object = importlib.import_module(spec.source)
    except Exception as err:  # ModuleNotFoundError, or anything the module raises on import
        raise ReproError(f"classifier {spec}: cannot import module {spec.source} ({_first_line(err)})") from None
    for i, part in enumerate(spec.name.split(".")):
        if not hasattr(obj, part):
            owner = ".".join([spec.source, *spec.name.split(".")[:i]])
            raise ReproError(f"classifier {spec}: module {owner} has no attribute {part!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ReproError(f"classifier {spec}: {spec.architecture} is not callable (type {type(obj).__name__}); give a "
                         "factory returning an nn.Module")
    return obj  # type: ignore[return-value]


def resolve_extra(spec: ExtraSpec) -> None:
    """Check, without building anything, that the spec names something that exists: a torchvision
    classification architecture and weights name, an importable callable factory, a weights file."""
    if spec.is_torchvision:
        names = _torchvision_architectures()
        if spec.name not in names:
            import difflib

            close = difflib.get_close_matches(spec.name, names, n=3)
            raise ReproError(f"classifier {spec}: unknown torchvision architecture {spec.name!r}"
                             + (f" (did you mean {', '.join(close)}?)" if close else "")
                             + "; torchvision.models.list_models() names the classification architectures")
        _torchvision_enum(spec)
    else:
        _import_factory(spec)
    path = spec.weights_path
    if path is not None and not path.is_file():
        raise ReproError(f"classifier {spec}: weights file {path} {'is not a file' if path.exists() else 'does not exist'}")


def _torchvision_meta(spec: ExtraSpec) -> tuple[int, tuple[tuple[float, ...], tuple[float, ...]]]:
    """Input side and (mean, std) of a torchvision architecture at its own scale, from its weights'
    metadata (the named weights, else DEFAULT; no download): 224 and ImageNet's for most, 299 for
    Inception v3."""
    import torchvision

    try:
        enum = _torchvision_enum(spec) or torchvision.models.get_model_weights(spec.name).DEFAULT
        t = enum.transforms()
        return int(t.crop_size[0]), (tuple(map(float, t.mean)), tuple(map(float, t.std)))
    except ReproError:
        raise
    except Exception:  # an architecture without published weights: ImageNet's usual setting
        return 224, (IMAGENET_MEAN, IMAGENET_STD)


def extra_classifier_spec(spec: ExtraSpec) -> ClassifierSpec:
    """The registry entry of one of your own classifiers (resolved: :func:`resolve_extra`)."""
    resolve_extra(spec)
    size, norm = _torchvision_meta(spec) if spec.is_torchvision else (None, None)
    return ClassifierSpec(
        spec.label, f"{spec.label} ({spec.architecture})", (), spec.name if spec.is_torchvision else None,
        size,  # type: ignore[arg-type]  # None for a factory: the module declares its own
        imagenet_builder=functools.partial(_build_extra_raw, spec, "imagenet"),
        cifar_builder=functools.partial(_build_extra_raw, spec, "cifar"),
        extra=spec, imagenet_normalization=norm,
    )


def adapt_to_32(model: nn.Module) -> nn.Module:
    """A torchvision architecture adapted to 32x32 inputs the way the zoo's CIFAR family is built.

    The zoo's ResNet and Inception run their first stage on the whole 32x32 image (a 3x3 stride-1
    stem, no pooling before the first stage), where the ImageNet versions bring 224 down to 56 first.
    Here likewise: the stem (the first convolution) becomes a 3x3 stride-1 convolution with the same
    channels, and a max pooling that follows it before any other convolution (ResNet's, DenseNet's,
    GoogLeNet's) is dropped; the rest of the network is kept as torchvision builds it. E.g. ResNet-18
    then ends on a 4x4 map, MobileNet v3 small on 2x2. Architectures that need more than 32 pixels even
    so (Inception v3's unpadded reductions, ViT's fixed patch grid) fail the one-batch check
    (:func:`check_classifier_output`) with a message saying so.
    """
    modules = list(model.named_modules())
    stem_at = next((i for i, (_, m) in enumerate(modules) if isinstance(m, nn.Conv2d)), None)
    if stem_at is None:
        return model
    name, stem = modules[stem_at]
    new = nn.Conv2d(stem.in_channels, stem.out_channels, 3, stride=1, padding=1, bias=stem.bias is not None)
    nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")  # torchvision's CNN stems' init
    if new.bias is not None:
        nn.init.zeros_(new.bias)
    _set_submodule(model, name, new)
    for later, m in modules[stem_at + 1:]:
        if isinstance(m, nn.Conv2d):
            break
        if isinstance(m, nn.MaxPool2d):
            _set_submodule(model, later, nn.Identity())
            break
    return model


def _set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    """``model.set_submodule(name, new)`` (added to torch after 2.2, the oldest torch this package takes)."""
    parent, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, new)


def _torchvision_random(spec: ExtraSpec, num_classes: int) -> nn.Module:
    import torchvision

    if spec.name == "inception_v3":  # the zoo's settings for it (see _build_torchvision)
        return _build_torchvision("inception_v3", spec.label, num_classes)
    try:
        return torchvision.models.get_model(spec.name, weights=None, num_classes=num_classes)
    except Exception as err:
        raise ReproError(f"classifier {spec}: torchvision cannot build {spec.name} with {num_classes} classes "
                         f"({_first_line(err)})") from None


def _build_extra_raw(spec: ExtraSpec, family: str, num_classes: int, width: float = 1.0) -> nn.Module:
    """The bare network with random initialisation (or a factory's own weights); ``width`` is the zoo's
    and does not apply (a torchvision architecture is built at its own widths)."""
    if spec.is_torchvision:
        model = _torchvision_random(spec, num_classes)
        return adapt_to_32(model) if family == "cifar" else model
    factory = _import_factory(spec)
    try:
        takes = _takes_num_classes(factory)
        model = factory(num_classes=num_classes) if takes else factory()
    except ReproError:
        raise
    except Exception as err:
        raise ReproError(f"classifier {spec}: the factory raised {_first_line(err)}") from None
    if not isinstance(model, nn.Module):
        raise ReproError(f"classifier {spec}: the factory returned {a_type(model)}, not a torch.nn.Module "
                         "(a module mapping [0, 1] RGB images to logits)")
    return model


def _takes_num_classes(factory: Callable[..., object]) -> bool:
    import inspect

    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "num_classes" or p.kind is p.VAR_KEYWORD for p in params)


def build_extra(spec: ExtraSpec, *, family: str, num_classes: int, width: float = 1.0,
                load_weights: bool = True) -> Classifier:
    """One of your own classifiers as a :class:`Classifier` (see the notes above); its spec's weights
    are loaded unless ``load_weights`` is False."""
    _check_family(family)
    if num_classes < 1:
        raise ReproError(f"num_classes must be >= 1, got {num_classes}")
    cspec = extra_classifier_spec(spec)
    kind = spec.weights_kind if load_weights else None
    if kind == "enum":
        model = _torchvision_with_enum(spec, family, num_classes)
    else:
        model = cspec.build_raw(family, num_classes, width)
        if kind == "file":
            try:
                _load_local_weights(model, spec.weights_path)  # type: ignore[arg-type]
            except ReproError as err:
                raise ReproError(f"classifier {spec}: {err}") from None
    return Classifier(cspec, model, family)


def _torchvision_with_enum(spec: ExtraSpec, family: str, num_classes: int) -> nn.Module:
    enum = _torchvision_enum(spec)
    n = len(enum.meta["categories"])
    if family != "imagenet":
        raise ReproError(f"classifier {spec}: {enum} are weights of torchvision's {enum.transforms().crop_size[0]}-pixel "
                         f"architecture with {n} classes; at classifiers.family cifar the architecture is adapted to "
                         f"32x32 and trained here: drop '@{spec.weights}', or use the imagenet family")
    if num_classes != n:
        raise ReproError(f"classifier {spec}: {enum} has {n} classes; the data have {num_classes}")
    import torch.hub
    import torchvision

    try:
        return torchvision.models.get_model(spec.name, weights=enum)
    except Exception as err:
        raise ReproError(f"classifier {spec}: could not load torchvision weights {enum} ({enum.url}) into "
                         f"{torch.hub.get_dir()}/checkpoints: {_first_line(err)}; download the file there, or give "
                         "a local state-dict file after '@'") from None


def _declared_input_size(spec: ClassifierSpec, model: nn.Module) -> int | None:
    """The ``input_size`` a factory's module declares (None: it takes the images as they come)."""
    size = getattr(model, "input_size", None)
    if isinstance(size, (tuple, list)) and len(size) == 2 and size[0] == size[1]:
        size = size[0]
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ReproError(f"classifier {spec.extra or spec.name}: the module's input_size must be a positive integer, "
                         f"the side of the square images it takes (the SegNet's reconstructions are resized to it), "
                         f"got {size!r}")
    return size


def check_classifier_output(clf: Classifier, num_classes: int, image_size: int) -> None:
    """Run one batch the way the pipeline will, raising a one-line :class:`ReproError` naming the spec.

    The batch is what the SegNet gives a classifier: (2, 3, image_size, image_size) [0, 1] RGB
    reconstructions at the data's size (the wrapper resizes and normalises them as it will in the
    pipeline). The output must be logits of shape (2, num_classes). Catches, before any training,
    a network that cannot take those images and one with the wrong number of classes.
    """
    where = f"classifier {clf.spec.extra or clf.spec.name}"
    param = next(clf.parameters(), None)
    x = torch.rand(2, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))
    if param is not None:
        x = x.to(param.device)
    was = clf.training
    clf.eval()
    try:
        with torch.no_grad():
            out = clf(x)
    except ReproError:
        raise
    except Exception as err:
        size = f", resized to {clf.input_size}x{clf.input_size}" if clf.input_size not in (None, image_size) else ""
        hint = ("; a module with a fixed input size declares it as an `input_size` attribute and is given images "
                "of that size" if clf.spec.extra is not None and not clf.spec.extra.is_torchvision else
                "; this architecture does not take these images (use the imagenet family, or wrap it in a factory)")
        raise ReproError(f"{where}: does not run on the SegNet's reconstructions ((2, 3, {image_size}, {image_size}) "
                         f"[0, 1] RGB{size}): {_first_line(err)}{hint}") from None
    finally:
        clf.train(was)
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 2:
        got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else a_type(out)
        raise ReproError(f"{where}: returns {got} for a batch of 2 images; expected logits of shape (2, {num_classes})")
    if out.shape[1] != num_classes:
        hint = (" (a factory is given num_classes when it takes that argument)"
                if clf.spec.extra is not None and not clf.spec.extra.is_torchvision else "")
        raise ReproError(f"{where}: returns {out.shape[1]} logits per image, but the data have {num_classes} "
                         f"classes{hint}")


_HASHES: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256: each file hashed once


def _file_sha256(path: Path) -> str:
    import hashlib

    st = path.stat()
    memo = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo not in _HASHES:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASHES[memo] = h.hexdigest()
    return _HASHES[memo]


def extra_fingerprint(spec: ExtraSpec) -> dict[str, str | None]:
    """What a unit of this classifier depends on beyond the run's settings: the architecture, its
    weights (a weights name; a file by its sha256, so a moved file is the same and a changed one is
    not), and the source file of a factory (an edited model retrains)."""
    import inspect

    resolve_extra(spec)
    kind = spec.weights_kind
    fp: dict[str, str | None] = {"architecture": spec.architecture, "weights": None}
    if kind == "enum":
        fp["weights"] = str(_torchvision_enum(spec))
    elif kind == "factory":
        fp["weights"] = FACTORY_WEIGHTS
    elif kind == "file":
        fp["weights"] = "sha256:" + _file_sha256(spec.weights_path)  # type: ignore[arg-type]
    if not spec.is_torchvision:
        factory = _import_factory(spec)
        try:
            source = inspect.getsourcefile(factory) or inspect.getsourcefile(inspect.getmodule(factory))  # type: ignore[arg-type]
        except TypeError:
            source = None
        fp["factory_source"] = "sha256:" + _file_sha256(Path(source)) if source and Path(source).is_file() else None
    return fp
