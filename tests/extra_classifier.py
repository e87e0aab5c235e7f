"""Classifiers "of your own" for the tests of issue 11 (``--classifiers mine=tests.extra_classifier:factory``).

``factory`` is what a user writes: a callable returning an ``nn.Module`` that maps [0, 1] RGB images
to logits, normalising them itself. The others are broken on purpose, one way each, for the error
tests (tests/test_extra_classifiers.py).
"""

from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    """Two 3x3 convolutions, global average pooling, a linear layer (~1,500 parameters); any input size."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        # It normalises its own input (the wrapper does not, for a factory's module).
        self.register_buffer("mean", torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1))
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / 0.25)


def factory(num_classes: int = 10) -> nn.Module:
    return TinyNet(num_classes)


class Fixed48(TinyNet):
    """A network that declares a fixed input side: the wrapper resizes the SegNet's images to it."""

    input_size = 48


def fixed_48(num_classes: int = 10) -> nn.Module:
    return Fixed48(num_classes)


# --- broken on purpose ------------------------------------------------------------------------------

NOT_CALLABLE = 3


def not_a_module(num_classes: int = 10):
    return {"weights": torch.zeros(3)}


def ten_is_seven() -> nn.Module:
    """Takes no num_classes: always 7 classes."""
    return TinyNet(7)


def raises(num_classes: int = 10) -> nn.Module:
    raise RuntimeError("out of coffee")


class Needs224(nn.Module):
    """Flattens a 224x224 image into a linear layer and does not say so (no input_size)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.fc = nn.Linear(3 * 224 * 224, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


class BadSize(TinyNet):
    input_size = "large"


def bad_size(num_classes: int = 10) -> nn.Module:
    return BadSize(num_classes)
