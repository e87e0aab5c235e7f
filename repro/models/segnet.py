"""SegNet autoencoder (paper Sec. 3.1): two VGG16-BN halves joined by max-pooling indices.

Encoder: the 13 conv layers of VGG16-BN in five stages of (2, 2, 3, 3, 3) ``conv3x3 -> BN -> ReLU``,
each stage closed by a 2x2/2 max-pooling that records its indices. The encoder is an ``nn.Sequential``
laid out exactly like torchvision's ``vgg16_bn().features`` (same indices 0..43, same parameter and
buffer names and shapes at width 1.0), so a torchvision VGG16-BN state dict loads into it key for key
(:meth:`SegNet.load_vgg16_bn_features`).

Decoder: the mirror image. Each stage max-unpools with the indices of the matching encoder stage, to
the exact size that stage saw (``output_size=``), then applies as many ``conv3x3 -> BN -> ReLU`` as
the encoder stage had, the last one of each stage narrowing to the previous stage's width (SegNet,
Badrinarayanan et al. 2017). Where the mirror of the encoder's first conv (64 -> 3) would be, the
decoder keeps 64 channels and ends in a 1x1 conv to 3 channels followed by a sigmoid (see
``SegNet.forward`` for why a sigmoid and not a clamp).

Any input size works, also sizes that are not multiples of 32 (299 for Inception v3, odd sizes):
pooling uses ``ceil_mode=True``, as the original Caffe SegNet did, so the last row/column of an odd-sized
map gets its own pooling window instead of being dropped, and every size >= 1 goes through the five
poolings; the smallest map is ceil(side / 32). Unpooling uses the sizes the encoder recorded.

Throughput at 32x32 on the development CPU (``benchmarks/models.py --channels-last``; batch 128,
float32, images/s; "1 thr": one thread while another job held the second core; "2 thr": two
threads while the machine was otherwise quiet; fine-tune: decoder-only training step through the
frozen CIFAR VGG):

=====  ==========  ========  ===================  ===========  ==========  ===============  ===============
width  parameters  MACs/img  pretrain 1 thr       pretrain 2   eval 1 thr  fine-tune 1 thr  fine-tune 2 thr
=====  ==========  ========  ===================  ===========  ==========  ===============  ===============
0.125  463,467     10.6 M    1,220 (NCHW: 1,210)  1,770        5,480       930              1,410
0.25   1,847,379   41.8 M    580 (NCHW: 430)      ~890         2,210       650              (~950, est.)
=====  ==========  ========  ===================  ===========  ==========  ===============  ===============

Width 0.25, first proposed for the CPU scale (which uses 0.5; :func:`repro.config.cpu` says why): ~900
images/s on 2 cores for pre-training and about as fast for decoder-only fine-tuning, i.e. ~1.6 M images
in 30 minutes; NHWC (``.to(memory_format=torch.channels_last)`` on model and input) is 1.35x faster
than NCHW at this width.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from repro.errors import ReproError
from repro.vocabulary import TRAINABLE
from repro.models.weights import describe_mismatch, load_state_dict_file

#: VGG16-BN's per-stage channel widths and conv counts (Simonyan & Zisserman 2015, config "D").
VGG16_STAGE_WIDTHS = (64, 128, 256, 512, 512)
VGG16_STAGE_CONVS = (2, 2, 3, 3, 3)

TRAINABLE_PARTS = (*TRAINABLE, "none")  # what fine-tuning may train, or nothing (a frozen SegNet)

_Pool = tuple[torch.Tensor, torch.Size]  # a pooling's indices and the size of its input


@dataclass(frozen=True)
class SegNetConfig:
    """Shape of a :class:`SegNet`.

    width: multiplier of VGG16-BN's stage widths (64, 128, 256, 512, 512); 1.0 is the paper's SegNet.
    in_channels: image channels in and out (the output has as many channels as the input).
    """

    width: float = 1.0
    in_channels: int = 3

    def __post_init__(self) -> None:
        if not (self.width > 0):
            raise ReproError(f"SegNetConfig.width must be > 0, got {self.width!r}")
        if self.in_channels < 1:
            raise ReproError(f"SegNetConfig.in_channels must be >= 1, got {self.in_channels!r}")

    @property
    def stage_widths(self) -> tuple[int, ...]:
        """Channels of each of the five stages.

        >>> SegNetConfig(width=0.25).stage_widths
        (16, 32, 64, 128, 128)
        >>> SegNetConfig(width=0.01).stage_widths
        (1, 1, 3, 5, 5)
        """
        return tuple(max(1, round(c * self.width)) for c in VGG16_STAGE_WIDTHS)


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    # Same layer types and hyper-parameters as torchvision's vgg16_bn (conv with bias, BN eps 1e-5).
    return [nn.Conv2d(cin, cout, kernel_size=3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class _Encoder(nn.Sequential):
    """VGG16-BN ``features`` whose poolings also return their indices and input sizes."""

    def __init__(self, config: SegNetConfig) -> None:
        layers: list[nn.Module] = []
        cin = config.in_channels
        for width, convs in zip(config.stage_widths, VGG16_STAGE_CONVS):
            for _ in range(convs):
                layers += _conv_bn_relu(cin, width)
                cin = width
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True, return_indices=True))
        super().__init__(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[_Pool]]:  # type: ignore[override]
        pools: list[_Pool] = []
        for layer in self:
            if isinstance(layer, nn.MaxPool2d):
                size = x.shape[-2:]
                x, indices = layer(x)
                pools.append((indices, size))
            else:
                x = layer(x)
        return x, pools


class _DecoderStage(nn.Module):
    def __init__(self, cin: int, cout: int, convs: int) -> None:
        super().__init__()
        self.unpool = nn.MaxUnpool2d(kernel_size=2, stride=2)
        layers: list[nn.Module] = []
        for i in range(convs):
            layers += _conv_bn_relu(cin, cout if i == convs - 1 else cin)
        self.convs = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, indices: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return self.convs(self.unpool(x, indices, output_size=size))


class _Decoder(nn.Module):
    def __init__(self, config: SegNetConfig) -> None:
        super().__init__()
        widths = config.stage_widths
        # Stage k of the decoder mirrors encoder stage k: widths[k] -> widths[k-1] (stage 0 stays).
        self.stages = nn.ModuleList(
            _DecoderStage(widths[k], widths[max(k - 1, 0)], VGG16_STAGE_CONVS[k]) for k in reversed(range(5))
        )
        self.head = nn.Conv2d(widths[0], config.in_channels, kernel_size=1)

    def forward(self, x: torch.Tensor, pools: list[_Pool]) -> torch.Tensor:
        for stage, (indices, size) in zip(self.stages, reversed(pools)):
            x = stage(x, indices, size)
        return self.head(x)


class SegNet(nn.Module):
    """SegNet autoencoder in pixel space: (B, C, H, W) in [0, 1] -> (B, C, H, W) in (0, 1)."""

    def __init__(self, config: SegNetConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = _Encoder(config)
        self.decoder = _Decoder(config)
        self._trainable = "both"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.config.in_channels:
            raise ReproError(
                f"SegNet expects a (batch, {self.config.in_channels}, height, width) tensor, got shape {tuple(x.shape)}"
            )
        code, pools = self.encoder(x)
        # Output: sigmoid, not a clamp. The classifiers need inputs in [0, 1] (Sec. 3.3: the AE's
        # output is an image the frozen classifier reads), and both losses (MSE in pre-training,
        # cross-entropy in fine-tuning) must reach every pixel: a hard clamp has zero gradient outside
        # [0, 1], so a pixel pushed past either bound (easy under the classifier's gradients) would stop
        # learning for good. The sigmoid's gradient is never zero; its cost is that exact 0 and 1 are
        # only approached, which is below the 8-bit quantisation step for logits beyond about +-5.5.
        return torch.sigmoid(self.decoder(code, pools))

    # -- parameter groups and freezing (Sec. 3.3: only the decoder is fine-tuned) -----------------

    def encoder_parameters(self) -> Iterator[nn.Parameter]:
        return self.encoder.parameters()

    def decoder_parameters(self) -> Iterator[nn.Parameter]:
        return self.decoder.parameters()

    @property
    def trainable(self) -> str:
        """Which part :meth:`set_trainable` last selected ("both" after construction)."""
        return self._trainable

    def set_trainable(self, part: str) -> None:
        """Train only ``part``: "decoder" (the paper's choice), "encoder", "both" or "none".

        Frozen parts get ``requires_grad=False`` and stay in eval mode, also after ``model.train()``,
        so that a training step neither computes their gradients nor updates their BatchNorm
        running statistics.
        """
        if part not in TRAINABLE_PARTS:
            raise ReproError(f"SegNet trainable part must be one of {', '.join(TRAINABLE_PARTS)}; got {part!r}")
        self._trainable = part
        self.encoder.requires_grad_(part in ("encoder", "both"))
        self.decoder.requires_grad_(part in ("decoder", "both"))
        self.train(self.training)

    def train(self, mode: bool = True) -> SegNet:
        super().train(mode)
        if self._trainable not in ("encoder", "both"):
            self.encoder.eval()
        if self._trainable not in ("decoder", "both"):
            self.decoder.eval()
        return self

    # -- initialisation from VGG16-BN ---------------------------------------------------------------

    def load_vgg16_bn_features(self, state_dict: Mapping[str, torch.Tensor] | str | os.PathLike) -> None:
        """Initialise the encoder from a torchvision VGG16-BN state dict (or a file holding one).

        Takes the ``features.*`` entries (a whole ``vgg16_bn().state_dict()`` is fine; the classifier
        entries are ignored); keys without that prefix are accepted when they already match the
        encoder's own names. Width 1.0 and 3 input channels only.
        """
        if self.config.width != 1.0 or self.config.in_channels != 3:
            raise ReproError(
                "VGG16-BN weights fit only SegNet width 1.0 with 3 input channels; this SegNet has "
                f"width {self.config.width} and {self.config.in_channels} input channels"
            )
        source = "the given state dict"
        if isinstance(state_dict, (str, os.PathLike)):
            source = os.fspath(state_dict)
            state_dict = load_state_dict_file(state_dict)
        features = {k[len("features."):]: v for k, v in state_dict.items() if k.startswith("features.")}
        if not features:
            features = dict(state_dict)

        # Compared under torchvision's key names, so the message names keys as the file has them.
        problem = describe_mismatch({f"features.{k}": v for k, v in features.items()},
                                    {f"features.{k}": v for k, v in self.encoder.state_dict().items()})
        if problem:
            raise ReproError(f"{source} is not a VGG16-BN features state dict: {problem}")
        self.encoder.load_state_dict(features, strict=True)
