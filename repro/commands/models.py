"""``repro models``: the models a configuration builds, as ``repro run`` with the same options builds them.

One row for the SegNet autoencoder (at the configuration's width and image side) and one per classifier
of the configuration, your own included (``--classifiers L,V,mob=torchvision:mobilenet_v3_small``):
width, input side, parameters and multiply-accumulates per image. The options are ``repro run``'s
configuration options (``--scale``, default cpu as for ``repro run``; ``--classifiers``; ``--set
section.field=value``), read by the same code, so the table is what ``repro run`` with those options
trains and logs ("classifier L: LeNet-5 (cifar, width 0.5, 15,888 parameters)" at the cpu scale).

Models are built on PyTorch's meta device, so the table costs no computation and no data, weights or
downloads are needed.
"""

from __future__ import annotations

import argparse
import json

# The number of classes of each data set's training split (the pipeline reads it from the data; the
# table needs no data, so it takes the data set's own count).
DATASET_CLASSES = {"digits": 10, "cifar10": 10, "imagenet": 1000}

HELP = "the SegNet AE and the classifiers of a configuration (as repro run builds them): width, input, parameters, MACs"
DESCRIPTION = """\
Print the models that repro run builds for the same options: the SegNet autoencoder at the
configuration's width and image side, and each classifier of the configuration (your own included)
with its width, input side, parameters and multiply-accumulates per image (counted with
torch.utils.flop_counter on the meta device: MACs = FLOPs / 2; nothing is computed or downloaded).
The first line names the scale, the data set and image side, and the widths.

Examples:
  repro models                              the cpu scale (repro run's default)
  repro models --scale smoke
  repro models --scale cpu --classifiers L,V,mob=torchvision:mobilenet_v3_small
  repro models --scale paper                the ImageNet models of the paper (224x224)
  repro models --set ae.width=1.0 --set classifiers.width=0.25
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from repro.commands.pipeline import add_config_arguments

    parser = subparsers.add_parser("models", help=HELP, description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser, behaviour=False)  # repro run's configuration options, read the same way
    parser.add_argument("--json", action="store_true", help="print the configuration and rows as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repro.commands.pipeline import config_from_args

    cfg = config_from_args(args)  # repro run's configuration: --scale, --classifiers, --set, ... (one-line errors)
    if cfg.classifiers.extra:  # your own classifiers: the spec checks of repro run, the same one-line errors
        from repro.config import extras_origin, override_origins
        from repro.pipeline.classifiers import resolve_extras

        resolve_extras(cfg, extras_origin(override_origins(classifiers=args.classifiers, sets=args.sets or ())))
    table = describe_config(cfg)
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    print(header(table))
    print(format_table(table["rows"]))
    return 0


def describe_config(cfg) -> dict:
    """The SegNet and each classifier of ``cfg`` as the pipeline builds them, on the meta device.

    The SegNet as pretraining builds it (``repro.pipeline.pretrain``: its width), the classifiers by
    the registry function and arguments the classifiers stage uses (``build_classifier`` with
    ``repro.pipeline.classifiers.model_config``); MACs per image of the data's side (the side the
    pipeline gives them; a classifier's wrapper resizes it to its own input side).
    """
    import torch

    from repro.errors import ReproError
    from repro.models import count_macs
    from repro.models.classifiers import build_classifier
    from repro.models.segnet import SegNet, SegNetConfig
    from repro.pipeline.classifiers import model_config

    c, side = cfg.classifiers, cfg.data.image_size
    n_classes = DATASET_CLASSES[cfg.data.dataset]
    with torch.device("meta"):
        ae = SegNet(SegNetConfig(width=cfg.ae.width))
    rows = [_row("AE", "SegNet (A_S, A_i)", cfg.ae.width, side, ae, count_macs(ae, side))]
    for k in c.keys:
        mcfg = model_config(cfg, k, n_classes)
        spec = c.extra.get(k)
        try:
            with torch.device("meta"):  # shapes only: your own classifier's weights are not loaded
                clf = build_classifier(k, family=mcfg["family"], num_classes=n_classes, width=mcfg["width"], spec=spec,
                                       spec_weights=False, input_size=mcfg.get("input_size"))
            macs = count_macs(clf, side)
        except ReproError:
            raise
        except Exception as err:  # e.g. a factory of your own that cannot be built without real tensors
            first = (str(err).strip().splitlines() or [""])[0]
            raise ReproError(f"classifier {k}: could not be built on the meta device to count it "
                             f"({type(err).__name__}: {first})") from None
        rows.append(_row(k, clf.spec.name, None if spec is not None else mcfg["width"], clf.input_size or side,
                         clf, macs))
    return {
        "scale": cfg.scale, "dataset": cfg.data.dataset, "image_size": side, "pretrain_size": cfg.data.pretrain_size,
        "num_classes": n_classes, "ae_width": cfg.ae.width, "classifier_family": c.family,
        "classifier_width": c.width if c.family == "cifar" else 1.0, "pretrained": list(c.pretrained), "rows": rows,
    }


def _row(key: str, name: str, width: float | None, input_size: int, model, macs: int) -> dict:
    return {"key": key, "name": name, "width": width, "input_size": input_size,
            "parameters": sum(p.numel() for p in model.parameters()), "macs": macs}


def header(t: dict) -> str:
    """The table's first line: the scale, the data set and image side, and the widths.

    >>> print(header({"scale": "cpu", "dataset": "cifar10", "image_size": 32, "pretrain_size": 32,
    ...               "num_classes": 10, "ae_width": 0.5, "classifier_family": "cifar", "classifier_width": 0.5,
    ...               "pretrained": []}))
    scale cpu: cifar10 images at 32x32 (10 classes); SegNet width 0.5; classifiers of the cifar family at width 0.5
    """
    side, pre = t["image_size"], t["pretrain_size"]
    crops = f", pretraining crops {pre}x{pre}" if pre != side else ""
    pretrained = (f" ({', '.join(t['pretrained'])} with torchvision's ImageNet weights)" if t["pretrained"] else "")
    return (f"scale {t['scale']}: {t['dataset']} images at {side}x{side}{crops} ({t['num_classes']} classes); "
            f"SegNet width {t['ae_width']:g}; classifiers of the {t['classifier_family']} family at width "
            f"{t['classifier_width']:g}{pretrained}")


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`describe_config` as a text table (width "own": one of your own classifiers).

    >>> print(format_table([{"key": "L", "name": "LeNet-5", "width": 0.5, "input_size": 32, "parameters": 15888,
    ...                      "macs": 251340}]))
    key    name       width    input    parameters    MACs/image
    -----  -------  -------  -------  ------------  ------------
    L      LeNet-5      0.5    32x32        15,888       251.34K
    """
    from tabulate import tabulate

    table = [
        [r["key"], r["name"], "own" if r["width"] is None else f"{r['width']:g}",
         f"{r['input_size']}x{r['input_size']}", f"{r['parameters']:,}", _si(r["macs"])]
        for r in rows
    ]
    return tabulate(
        table,
        headers=["key", "name", "width", "input", "parameters", "MACs/image"],
        colalign=("left", "left", "right", "right", "right", "right"),
        disable_numparse=True,
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
