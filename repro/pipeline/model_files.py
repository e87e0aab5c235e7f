"""Models rebuilt from their model files (``model.pt``: {"kind", "config", "state_dict", "meta"}), each
checked first against the size and sha256 its done.json recorded (:func:`repro.pipeline.units.check_model`);
and a model compiled for a run that asks for it (``compile``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.pipeline.units import check_model, rebuild_hint
from repro.checkpoint import load_checkpoint
from repro.models.classifiers import build_classifier
from repro.models.segnet import SegNet, SegNetConfig


def load_segnet(path: Path, device: str = "cpu"):
    """A SegNet rebuilt from its model file ({"kind": "segnet", "config", "state_dict"})."""

    blob = _load_model_file(path)
    if blob.get("kind") != "segnet":
        raise ReproError(f"{path}: not a SegNet model file (kind {blob.get('kind')!r})")
    ae = SegNet(SegNetConfig(**blob["config"]))
    ae.load_state_dict(blob["state_dict"])
    return ae.to(device)


def load_classifier(path: Path, device: str = "cpu"):
    """A classifier rebuilt from its model file ({"kind": "classifier", "config", "state_dict"})."""

    blob = _load_model_file(path)
    if blob.get("kind") != "classifier":
        raise ReproError(f"{path}: not a classifier model file (kind {blob.get('kind')!r})")
    c = blob["config"]
    # One of your own classifiers is rebuilt from its spec; the file's state dict replaces the spec's weights.
    clf = build_classifier(c["name"], family=c["family"], num_classes=c["num_classes"], width=c["width"],
                           spec=c.get("spec"), spec_weights=False, input_size=c.get("input_size"))
    _fit_inception_aux(clf, blob["state_dict"])
    clf.load_state_dict(blob["state_dict"])
    return clf.to(device)


def _load_model_file(path: Path) -> dict[str, Any]:
    """A model file, checked against its done.json first; a damaged one names the command rebuilding it."""

    path = Path(path)
    check_model(path)
    try:
        blob = load_checkpoint(path)
    except ReproError as err:
        if not path.exists():
            raise
        raise ReproError(f"{err}; {rebuild_hint(path)}") from None
    if not isinstance(blob, dict):
        raise ReproError(f"{path}: not a model file written by repro; {rebuild_hint(path)}")
    return blob


def _fit_inception_aux(clf, state: dict) -> None:
    """torchvision's Inception v3 carries an aux head; drop it when the file has none."""
    model = clf.model
    if getattr(model, "AuxLogits", None) is not None and not any(".AuxLogits." in f".{k}" for k in state):
        model.AuxLogits = None
        model.aux_logits = False


def maybe_compile(model, enabled: bool):
    if not enabled:
        return model
    import torch

    return torch.compile(model)
