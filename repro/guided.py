"""The method of the paper: an autoencoder fine-tuned through a frozen classifier (Sec. 3.3).

Palacio et al., "What do Deep Networks Like to See?", CVPR 2018, Sec. 3.3: the reconstruction of the
pre-trained autoencoder A_S is fed to classifier i, the classifier's loss (cross-entropy on the true
label) is back-propagated through the classifier into the autoencoder, and the classifier's
parameters are not updated; the result is A_i. Of the three variants the paper tried, updating only
the decoder worked best (its supplement), so that is the default; "encoder" and "both" remain
selectable. What A_i keeps of an image is then what classifier i uses (Secs. 3.4, 3.5).

::

    x ──► A (SegNet: frozen encoder ─► trainable decoder) ──► A(x) ──► frozen classifier i ──► logits
                                     ▲                                                         │
                                     └──────────── gradients of CE(logits, y) ◄────────────────┘

:class:`GuidedAutoencoder` is that composition as one module; :meth:`GuidedAutoencoder.loss` is the
objective, and :meth:`GuidedAutoencoder.check_frozen` the check, after training, that the classifier
and the frozen half of the AE are bit for bit what they were (weights and BatchNorm buffers), in the
spirit of MoCo's linear-evaluation sanity check. The fine-tuning stage (:mod:`repro.pipeline.finetune`)
only wires data, optimiser, checkpoints and the convergence rule around this module.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from repro.errors import ReproError
from repro.models.classifiers import Classifier
from repro.models.segnet import SegNet
from repro.vocabulary import TRAINABLE


def guidance_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The objective of Sec. 3.3: the classifier's cross-entropy on the reconstruction's logits (in float32,
    also under bf16 autocast)."""
    return F.cross_entropy(logits.float(), labels)


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``module``'s state (parameters and buffers) to compare against later."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().reshape(-1).contiguous().view(torch.uint8) if t.numel() else t


def changed_entries(module: nn.Module, reference: dict[str, torch.Tensor]) -> list[str]:
    """Names of the state entries of ``module`` that differ bit for bit from ``reference`` (NaN equals NaN).

    >>> lin = nn.Linear(2, 1)
    >>> ref = snapshot(lin)
    >>> changed_entries(lin, ref)
    []
    >>> with torch.no_grad():
    ...     lin.bias += 1
    >>> changed_entries(lin, ref)
    ['bias']
    """
    return [k for k, v in module.state_dict().items() if not torch.equal(_bits(v), _bits(reference[k]))]


class GuidedAutoencoder(nn.Module):
    """A_S's copy trained through a frozen classifier: ``forward(x)`` gives the classifier's logits on A(x).

    ``ae`` is the autoencoder being fine-tuned (its ``trainable`` half gets gradients); ``classifier``
    is frozen here (eval mode, no gradients for its parameters; gradients still reach its input).
    ``train()`` trains only the chosen half of the AE: the frozen half and the classifier stay in eval
    mode, so their BatchNorm statistics do not move either.
    """

    def __init__(self, ae: SegNet, classifier: Classifier, trainable: str = "decoder") -> None:
        super().__init__()
        if trainable not in TRAINABLE:  # SegNet also takes "none", which would fine-tune nothing
            raise ReproError(f"finetune.trainable must be one of {', '.join(TRAINABLE)}, got {trainable!r}")
        ae.set_trainable(trainable)
        self.ae = ae
        self.classifier = classifier.freeze()
        self.trainable = trainable
        self._frozen_parts = {"classifier": self.classifier}
        half = {"decoder": ae.encoder, "encoder": ae.decoder}.get(trainable)
        if half is not None:
            self._frozen_parts[f"the frozen {'encoder' if trainable == 'decoder' else 'decoder'} of the AE"] = half
        self._references = {name: snapshot(m) for name, m in self._frozen_parts.items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.ae(x))

    def loss(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fine-tuning objective: the frozen classifier's cross-entropy on the reconstructions."""
        logits = self(images)
        return guidance_loss(logits, labels), logits

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.ae.parameters() if p.requires_grad]

    def train(self, mode: bool = True) -> GuidedAutoencoder:
        self.training = mode
        self.ae.train(mode)  # SegNet keeps its frozen half in eval mode
        self.classifier.train(mode)  # a frozen Classifier stays in eval mode
        return self

    def check_frozen(self) -> None:
        """Raise if the classifier or the frozen half of the AE changed since construction (Sec. 3.3:
        "the parameters of the classifier are not updated")."""
        for name, module in self._frozen_parts.items():
            changed = changed_entries(module, self._references[name])
            if changed:
                raise RuntimeError(f"{name} changed during fine-tuning ({', '.join(changed[:5])})")
