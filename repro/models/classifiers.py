"""The five classifiers C = {L, A, V, I, R} (paper Sec. 3.3) at two scales ("families").

* ``imagenet`` (paper scale): torchvision's AlexNet, VGG-16-BN, Inception v3 (299x299) and ResNet-50,
  with ImageNet weights through torchvision's weights API or from a local state-dict file, and a
  LeNet-5 adapted to 224x224 input (the paper trained its own; torchvision has none).
* ``cifar`` (32x32, CPU and GPU scales): five small networks, one per family, keeping what defines
  each family (see the classes below). ``width`` multiplies their channels; width 1.0 is the CPU
  scale, wider nets serve the GPU scale.

:class:`Classifier` wraps a raw network: it takes [0, 1] RGB images of any size, resizes them to the
network's input size (antialiased bilinear), normalises them and returns logits.

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

import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ReproError

CLASSIFIER_KEYS = ("L", "A", "V", "I", "R")
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

    def __init__(self, num_classes: int = 10, width: float = 1.0) -> None:
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

    def __init__(self, num_classes: int = 10, width: float = 1.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for c, n in zip((16, 32, 64, 128, 128), (2, 2, 3, 3, 3)):
            for _ in range(n):
                layers.append(_conv_bn(cin, _w(c, width), 3))
                cin = _w(c, width)
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
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

    def __init__(self, num_classes: int = 10, width: float = 1.0, blocks: tuple[int, ...] = (2, 2, 2)) -> None:
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

    def __init__(self, num_classes: int = 10, width: float = 1.0) -> None:
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


def _lenet5_32(num_classes: int, width: float = 1.0) -> LeNet5:
    return LeNet5(num_classes, input_size=32, width=width)


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

    def input_size(self, family: str) -> int:
        return self.imagenet_input_size if _check_family(family) == "imagenet" else self.cifar_input_size

    def normalization(self, family: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(mean, std) applied to [0, 1] RGB inputs."""
        return (IMAGENET_MEAN, IMAGENET_STD) if _check_family(family) == "imagenet" else (CIFAR10_MEAN, CIFAR10_STD)

    def build_raw(self, family: str, num_classes: int, width: float = 1.0) -> nn.Module:
        """The bare network (random initialisation), without resizing or normalisation."""
        builder = self.imagenet_builder if _check_family(family) == "imagenet" else self.cifar_builder
        if num_classes < 1:
            raise ReproError(f"num_classes must be >= 1, got {num_classes}")
        if not (width > 0):
            raise ReproError(f"width must be > 0, got {width}")
        return builder(num_classes=num_classes, width=width)


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ReproError(f"unknown model family {family!r}; choose one of: {', '.join(FAMILIES)}")
    return family


_SPECS: dict[str, ClassifierSpec] = {
    s.key: s
    for s in (
        ClassifierSpec(
            "L", "LeNet-5", ("lenet5", "lenet", "lenet-5"), None, 224,
            imagenet_builder=_lenet5_224, cifar_builder=_lenet5_32,
        ),
        ClassifierSpec(
            "A", "AlexNet", ("alexnet",), "alexnet", 224,
            imagenet_builder=_torchvision_builder("alexnet", "AlexNet"), cifar_builder=AlexNetCifar,
        ),
        ClassifierSpec(
            "V", "VGG-16-BN", ("vgg16_bn", "vgg16bn", "vgg16-bn", "vgg16", "vgg"), "vgg16_bn", 224,
            imagenet_builder=_torchvision_builder("vgg16_bn", "VGG-16-BN"), cifar_builder=VGGCifar,
        ),
        ClassifierSpec(
            "I", "Inception v3", ("inception_v3", "inceptionv3", "inception-v3", "inception"), "inception_v3", 299,
            imagenet_builder=_torchvision_builder("inception_v3", "Inception v3"), cifar_builder=InceptionCifar,
        ),
        ClassifierSpec(
            "R", "ResNet-50", ("resnet50", "resnet-50", "resnet"), "resnet50", 224,
            imagenet_builder=_torchvision_builder("resnet50", "ResNet-50"), cifar_builder=ResNetCifar,
        ),
    )
}  # fmt: skip


def resolve_classifier(name: str) -> str:
    """The key (L, A, V, I, R) of a classifier given by key or alias, case-insensitively.

    >>> resolve_classifier("vgg16_bn"), resolve_classifier("l"), resolve_classifier("ResNet-50")
    ('V', 'L', 'R')
    """
    wanted = str(name).strip().lower()
    for spec in _SPECS.values():
        if wanted == spec.key.lower() or wanted in spec.aliases:
            return spec.key
    valid = "; ".join(f"{s.key} ({', '.join(s.aliases)})" for s in _SPECS.values())
    raise ReproError(f"unknown classifier {name!r}; valid names: {valid}")


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
    """

    def __init__(self, spec: ClassifierSpec, model: nn.Module, family: str) -> None:
        super().__init__()
        self.spec = spec
        self.family = _check_family(family)
        self.model = model
        self.input_size = spec.input_size(family)
        mean, std = spec.normalization(family)
        # Non-persistent: the state dict of a Classifier is its network's, under "model.".
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self._frozen = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ReproError(f"{self.spec.name} expects a (batch, 3, height, width) tensor, got shape {tuple(x.shape)}")
        s = self.input_size
        if tuple(x.shape[-2:]) != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        out = self.model((x - self.mean) / self.std)
        if isinstance(out, torch.Tensor):
            return out
        logits = getattr(out, "logits", None)  # torchvision InceptionOutputs (training mode)
        if isinstance(logits, torch.Tensor):
            return logits
        return out[0]

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
) -> Classifier:
    """Build classifier ``name`` (key or alias) of ``family`` ("imagenet" or "cifar").

    weights: None for random initialisation; "imagenet" for torchvision's ImageNet weights (imagenet
    family, num_classes 1000; read from torch's hub cache, downloaded when missing); or the path of
    a local state-dict file (of the raw network, or of a :class:`Classifier` with "model." keys).
    """
    spec = get_spec(name)
    _check_family(family)
    if isinstance(weights, str) and weights.lower() == "imagenet":
        model = _build_with_imagenet_weights(spec, family, num_classes, width)
    else:
        model = spec.build_raw(family, num_classes, width)
        if weights is not None:
            _load_local_weights(model, weights)
    return Classifier(spec, model, family)


def _load_local_weights(model: nn.Module, path: str | os.PathLike) -> None:
    from torchvision.models import Inception3

    from repro.models.weights import describe_mismatch, load_state_dict_file

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
