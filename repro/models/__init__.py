"""Models of the reproduction: the SegNet autoencoder (Sec. 3.1) and the five classifiers (Sec. 3.3)."""

from __future__ import annotations

from repro.models.classifiers import (
    CLASSIFIER_KEYS,
    FAMILIES,
    Classifier,
    ClassifierSpec,
    build_classifier,
    get_spec,
    resolve_classifier,
)
from repro.models.segnet import TRAINABLE_PARTS, SegNet, SegNetConfig
from repro.models.weights import load_state_dict_file, save_state_dict_atomic

__all__ = [
    "CLASSIFIER_KEYS",
    "FAMILIES",
    "TRAINABLE_PARTS",
    "Classifier",
    "ClassifierSpec",
    "SegNet",
    "SegNetConfig",
    "build_classifier",
    "count_macs",
    "describe_models",
    "get_spec",
    "load_state_dict_file",
    "resolve_classifier",
    "save_state_dict_atomic",
]


def count_macs(model, input_size: int, in_channels: int = 3) -> int:
    """Multiply-accumulates of one forward pass of ``model`` (eval mode) on one square image.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` (convolutions, linear layers and matrix
    products; MACs = FLOPs / 2). Runs on the model's device, so a model built under
    ``torch.device("meta")`` is counted without computing anything. Restores the model's train mode.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, in_channels, input_size, input_size, device=device))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops() // 2)


def describe_models(
    family: str,
    num_classes: int,
    width: float = 1.0,
    segnet_width: float | None = None,
    segnet_size: int | None = None,
) -> list[dict]:
    """One row per classifier of ``family`` (and one for SegNet when ``segnet_width`` is given).

    Row keys: key, name, input_size, parameters, macs (per image), family. Models are built on the
    meta device: only shapes are computed, so even the paper-scale models take well under a second.
    SegNet's row uses ``segnet_size`` (default: 256 for imagenet, the paper's pre-training size; 32
    for cifar) and has key "AE".
    """
    import torch

    rows = []
    for key in CLASSIFIER_KEYS:
        with torch.device("meta"):
            clf = build_classifier(key, family=family, num_classes=num_classes, width=width)
        rows.append(
            {
                "key": key,
                "name": clf.spec.name,
                "input_size": clf.input_size,
                "parameters": sum(p.numel() for p in clf.parameters()),
                "macs": count_macs(clf, clf.input_size),
                "family": family,
            }
        )
    if segnet_width is not None:
        size = segnet_size or (256 if family == "imagenet" else 32)
        with torch.device("meta"):
            ae = SegNet(SegNetConfig(width=segnet_width))
        rows.append(
            {
                "key": "AE",
                "name": f"SegNet (width {segnet_width:g})",
                "input_size": size,
                "parameters": sum(p.numel() for p in ae.parameters()),
                "macs": count_macs(ae, size),
                "family": family,
            }
        )
    return rows
