"""Images/s of every pipeline stage at a scale, and the time each stage of a whole run will take.

    python benchmarks/pipeline.py --scale cpu [--steps 8] [--threads 2] [--data DIR] [--only pretrain,...]

For each training unit it times ``--steps`` real training steps (after one warm-up step) on the scale's
data with the scale's transforms, batch size and model widths: the AE pretraining step (SegNet, MSE,
Sec. 3.2 augmentations), each classifier's step, and each fine-tuning step (A_S's decoder through the
frozen classifier). For the evaluate stage it runs :func:`repro.evaluation.measure` on a few hundred
test images with and without the noise sweep and scales both parts to the configured sizes. The
estimate of a stage is (epochs x images) / (images/s) summed over its units, plus the measured
per-image cost of its test-set passes; model quality does not matter for any of it (random weights).
Also: decoding the data set's JPEGs against loading the cached uint8 tensor (``--decode``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # as `repro run` does (repro.commands.pipeline)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repro.config import apply_overrides, scale_config  # noqa: E402
from repro.data import (ImageDataset, EpochSampler, make_loader, pretrain_transform, eval_source,  # noqa: E402
                        train_source, train_transform)


def time_steps(step, loader, steps: int) -> float:
    """images/s of ``step(images, labels)`` over ``steps`` batches after one warm-up batch."""
    it = iter(loader)
    images, labels = next(it)
    step(images, labels)
    n, t0 = 0, time.perf_counter()
    for _ in range(steps):
        try:
            images, labels = next(it)
        except StopIteration:
            it = iter(loader)
            images, labels = next(it)
        step(images, labels)
        n += images.shape[0]
    return n / (time.perf_counter() - t0)


def loader_for(source, transform, batch: int, workers: int):
    ds = ImageDataset(source, transform)
    return make_loader(ds, batch, sampler=EpochSampler(ds, seed=0), num_workers=workers, drop_last=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="cpu")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data")
    ap.add_argument("--only", default="pretrain,classifiers,finetune,evaluate")
    ap.add_argument("--eval-images", type=int, default=300)
    ap.add_argument("--decode", action="store_true", help="also time decoding the JPEGs vs the cached tensor")
    ap.add_argument("--set", dest="sets", action="append", default=[])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = apply_overrides(scale_config(args.scale), data=args.data, sets=args.sets)
    only = set(args.only.split(","))
    from repro.models.classifiers import build_classifier
    from repro.models.segnet import SegNet, SegNetConfig

    cache = Path("/tmp/repro-bench-cache")
    train = train_source(cfg, cache)
    test = eval_source(cfg, cache)
    n_train = len(train)
    ncls = len(train.classes)
    rows = []  # (stage, unit, images/s, images per run, estimated s)
    torch.manual_seed(0)

    if args.decode and cfg.data.dataset == "cifar10":
        from repro.data import decode_files, list_image_folder, resolve_root

        folder = resolve_root(cfg.data) / "cifar10" / "train"
        paths, _, _ = list_image_folder(folder)
        t0 = time.perf_counter()
        decode_files(paths[:5000])
        t_dec = (time.perf_counter() - t0) * len(paths) / 5000
        from repro.checkpoint import load_checkpoint

        cached = sorted(cache.glob("cifar10-train-*.pt"))[0]
        t0 = time.perf_counter()
        load_checkpoint(cached)
        t_load = time.perf_counter() - t0
        print(f"decode {len(paths):,} JPEGs (torchvision): {t_dec:.1f} s (extrapolated from 5,000); "
              f"load cached tensor: {t_load:.2f} s")

    if "pretrain" in only:
        p = cfg.pretrain
        ae = SegNet(SegNetConfig(width=cfg.ae.width))
        opt = torch.optim.SGD(ae.parameters(), lr=p.lr, momentum=p.momentum)
        ae.train()

        def step(x, _y):
            opt.zero_grad()
            F.mse_loss(ae(x), x).backward()
            opt.step()

        ips = time_steps(step, loader_for(train, pretrain_transform(cfg, p.augment), p.batch_size, 0), args.steps)
        # validation MSE at every check: val_images forward passes
        ae.eval()
        with torch.no_grad():
            x = torch.rand(cfg.evaluate.batch_size, 3, cfg.data.pretrain_size, cfg.data.pretrain_size)
            t0 = time.perf_counter()
            ae(x)
            eval_ips = x.shape[0] / (time.perf_counter() - t0)
        checks = p.epochs * n_train // p.check_every + 1
        est = p.epochs * n_train / ips + checks * p.val_images / eval_ips
        rows.append(("pretrain", "A_S", ips, p.epochs * n_train, est))

    clfs = {}
    if "classifiers" in only or "finetune" in only or "evaluate" in only:
        c = cfg.classifiers
        for k in c.keys:
            clfs[k] = build_classifier(k, family=c.family, num_classes=ncls, width=c.width)
    if "classifiers" in only:
        c = cfg.classifiers
        for k in c.keys:
            clf = clfs[k]
            opt = torch.optim.SGD(clf.parameters(), lr=c.lr, momentum=c.momentum, nesterov=True)
            clf.train()

            def step(x, y, clf=clf, opt=opt):
                opt.zero_grad()
                F.cross_entropy(clf(x), y).backward()
                opt.step()

            ips = time_steps(step, loader_for(train, train_transform(cfg, c.augment), c.batch_size, 0), args.steps)
            clf.eval()
            with torch.no_grad():
                x = torch.rand(cfg.evaluate.batch_size, 3, cfg.data.image_size, cfg.data.image_size)
                t0 = time.perf_counter()
                clf(x)
                eval_ips = x.shape[0] / (time.perf_counter() - t0)
            e = c.epochs_for(k)
            rows.append(("classifiers", k, ips, e * n_train, e * n_train / ips + len(test) / eval_ips))

    if "finetune" in only:
        f = cfg.finetune
        n_ft = min(f.train_limit or n_train, n_train)
        for k in cfg.classifiers.keys:
            ae = SegNet(SegNetConfig(width=cfg.ae.width))
            ae.set_trainable(f.trainable)
            clf = clfs[k].freeze()
            opt = torch.optim.SGD([q for q in ae.parameters() if q.requires_grad], lr=f.lr, momentum=f.momentum)
            ae.train()

            def step(x, y, ae=ae, clf=clf, opt=opt):
                opt.zero_grad()
                F.cross_entropy(clf(ae(x)), y).backward()
                opt.step()

            ips = time_steps(step, loader_for(train, train_transform(cfg, f.augment), f.batch_size, 0), args.steps)
            rows.append(("finetune", f"A_{k}", ips, f.epochs * n_ft, f.epochs * n_ft / ips))

    if "evaluate" in only:
        from repro.evaluation import measure

        e = cfg.evaluate
        m = min(args.eval_images, len(test))
        sub = test.subset(range(m))
        loader = make_loader(ImageDataset(sub, None), e.batch_size)
        aes = {k: SegNet(SegNetConfig(width=cfg.ae.width)) for k in cfg.classifiers.keys}
        a_s = SegNet(SegNetConfig(width=cfg.ae.width))
        frozen = {k: v.freeze() for k, v in clfs.items()}
        kw = dict(device="cpu", noise_seed=0, nmi_bins=e.nmi_bins, figures_dir=None, progress=False)
        t0 = time.perf_counter()
        measure(frozen, a_s, aes, loader, noise_levels=(), noise_images=0, **kw)
        t_clean = (time.perf_counter() - t0) / m
        t0 = time.perf_counter()
        measure(frozen, a_s, aes, loader, noise_levels=e.noise_levels, noise_images=m, **kw)
        t_noise = max(0.0, (time.perf_counter() - t0) / m - t_clean)
        n_noise = len(test) if e.noise_images is None else min(e.noise_images, len(test))
        rows.append(("evaluate", "clean pass", 1 / t_clean, len(test), len(test) * t_clean))
        rows.append(("evaluate", "noise sweep", 1 / t_noise if t_noise else float("inf"), n_noise, n_noise * t_noise))

    from tabulate import tabulate

    print(f"\nscale {cfg.scale}: {n_train:,} training / {len(test):,} test images, {args.threads} threads, "
          f"{args.steps} timed steps per unit")
    print(tabulate([(s, u, f"{ips:,.0f}", f"{n:,}", f"{est:,.0f}") for s, u, ips, n, est in rows],
                   headers=["stage", "unit", "images/s", "images per run", "estimated s"]))
    per_stage: dict[str, float] = {}
    for s, _, _, _, est in rows:
        per_stage[s] = per_stage.get(s, 0.0) + est
    print("\nestimated time per stage: " + ", ".join(f"{s} {v / 60:.1f} min" for s, v in per_stage.items())
          + f"; total {sum(per_stage.values()) / 60:.1f} min")


if __name__ == "__main__":
    main()
