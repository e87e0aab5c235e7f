"""The paper's names, each written once: its five classifiers, the noise levels of its robustness sweep
and the parts of the autoencoder that fine-tuning may train; and how a count of things is written
(:func:`plural`) and what a value is (:func:`a_type`), for the logs, errors and the report alike.

This module imports nothing, so that the configuration (which the command line imports before torch)
and the paper's tables (:mod:`repro.paper`) name them without loading the models. The classifier
registry (:mod:`repro.models.classifiers`) holds one entry per key of :data:`PAPER_CLASSIFIERS` and
checks, when it is imported, that it does.

>>> PAPER_CLASSIFIERS, NOISE_LEVELS[:3], NOISE_LEVELS[-1], TRAINABLE
(('L', 'A', 'V', 'I', 'R'), (0.0, 0.1, 0.2), 1.0, ('decoder', 'encoder', 'both'))
"""

from __future__ import annotations

#: The classifiers C = {L, A, V, I, R} of Sec. 3.3 (LeNet-5, AlexNet, VGG-16-BN, Inception v3,
#: ResNet-50) by key, in the order of the paper's Table 1.
PAPER_CLASSIFIERS: tuple[str, ...] = ("L", "A", "V", "I", "R")

#: Their names, and the aliases a command line may use for them (compared lower-cased).
PAPER_NAMES: dict[str, str] = {"L": "LeNet-5", "A": "AlexNet", "V": "VGG-16-BN", "I": "Inception v3", "R": "ResNet-50"}
PAPER_ALIASES: dict[str, tuple[str, ...]] = {
    "L": ("lenet5", "lenet", "lenet-5"),
    "A": ("alexnet",),
    "V": ("vgg16_bn", "vgg16bn", "vgg16-bn", "vgg16", "vgg"),
    "I": ("inception_v3", "inceptionv3", "inception-v3", "inception"),
    "R": ("resnet50", "resnet-50", "resnet"),
}

#: The levels s of the noise sweep, U[-s, s] on [0, 1] images: s = 0, 0.1, ..., 1.0 (Sec. 3.3.2 sweeps
#: s over [0, 1]; Fig. 5 samples it at steps of 0.1).
NOISE_LEVELS: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(11))

#: What fine-tuning trains of A_S's copy (Sec. 3.3): the decoder (the paper's choice), the encoder or
#: both (the variants of its supplement).
TRAINABLE: tuple[str, ...] = ("decoder", "encoder", "both")


def plural(count: float, noun: str, plural_form: str | None = None) -> str:
    """``count`` and ``noun``, the noun in the plural unless the count is one ("1 epoch", "2 epochs").

    >>> plural(1, "epoch"), plural(2.0, "epoch"), plural(0, "lr cut"), plural(1.5, "epoch"), plural(3, "copy", "copies")
    ('1 epoch', '2 epochs', '0 lr cuts', '1.5 epochs', '3 copies')
    >>> plural(12000, "image")
    '12,000 images'
    """
    number = f"{int(count):,}" if float(count).is_integer() else f"{count:g}"
    return f"{number} {noun if count == 1 else plural_form or noun + 's'}"


def a_type(value: object) -> str:
    """What ``value`` is, with its article, for an error message ("returned an int, not ...").

    >>> a_type(3), a_type({}), a_type(None), a_type(object())
    ('an int', 'a dict', 'None', 'an object')
    """
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
