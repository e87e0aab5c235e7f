"""``repro models``: a table of the classifiers (and the SegNet AE) at one scale.

Models are built on PyTorch's meta device, so the table costs no computation and no weights are
needed or downloaded.
"""

from __future__ import annotations

import argparse
import json
import math

FAMILY_DEFAULTS = {
    # family: (num_classes, SegNet width, SegNet input size)
    "imagenet": (1000, 1.0, 256),  # paper: 1000 ImageNet classes, SegNet pre-trained at 256x256
    "cifar": (10, 0.25, 32),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="table of the five classifiers and the SegNet AE: input size, parameters, MACs per image",
        description="Print every model of one family: key, name, input size, parameters and multiply-"
        "accumulates per image (counted with torch.utils.flop_counter; MACs = FLOPs / 2).",
    )
    parser.add_argument("--family", choices=sorted(FAMILY_DEFAULTS), default="cifar",
                        help="imagenet: the paper's models (224/299 px); cifar: the 32x32 nets (default)")  # fmt: skip
    parser.add_argument("--num-classes", type=int, default=None, help="default: 1000 (imagenet), 10 (cifar)")
    parser.add_argument("--width", type=float, default=1.0, help="width multiplier of the classifiers")
    parser.add_argument("--segnet-width", type=float, default=None,
                        help="SegNet row's width; default 1.0 (imagenet), 0.25 (cifar); 0 leaves it out")  # fmt: skip
    parser.add_argument("--segnet-size", type=int, default=None, help="SegNet input side; default 256 / 32")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repro.errors import ReproError
    from repro.models import describe_models

    num_classes, segnet_width, segnet_size = FAMILY_DEFAULTS[args.family]
    if args.num_classes is not None:
        num_classes = args.num_classes
    if args.segnet_width is not None:
        segnet_width = args.segnet_width
    if args.segnet_size is not None:
        if args.segnet_size < 1:
            raise ReproError(f"--segnet-size must be >= 1, got {args.segnet_size}")
        segnet_size = args.segnet_size
    if not segnet_width >= 0 or math.isinf(segnet_width):  # NaN fails >= 0
        raise ReproError(f"--segnet-width must be > 0 (or 0 to leave SegNet out), got {segnet_width}")
    if not args.width > 0 or math.isinf(args.width):
        raise ReproError(f"--width must be a number > 0, got {args.width}")
    if num_classes < 1:
        raise ReproError(f"--num-classes must be >= 1, got {num_classes}")
    rows = describe_models(
        args.family,
        num_classes,
        args.width,
        segnet_width=segnet_width or None,
        segnet_size=segnet_size,
    )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(format_table(rows))
    return 0


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`repro.models.describe_models` as a text table.

    >>> print(format_table([{"key": "L", "name": "LeNet-5", "input_size": 32, "parameters": 62006,
    ...                      "macs": 651720, "family": "cifar"}]))
    key    name       input    parameters    MACs/image  family
    -----  -------  -------  ------------  ------------  --------
    L      LeNet-5    32x32        62,006       651.72K  cifar
    """
    from tabulate import tabulate

    table = [
        [r["key"], r["name"], f"{r['input_size']}x{r['input_size']}", f"{r['parameters']:,}", _si(r["macs"]),
         r["family"]]
        for r in rows
    ]
    return tabulate(
        table,
        headers=["key", "name", "input", "parameters", "MACs/image", "family"],
        colalign=("left", "left", "right", "right", "right", "left"),
    )


def _si(n: float) -> str:
    """
    >>> _si(651720), _si(15470264320), _si(999)
    ('651.72K', '15.47G', '999')
    """
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return f"{n:.0f}"
