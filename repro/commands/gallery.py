"""``repro gallery DIR``: a few test images beside A_S's and every A_i's reconstruction (repro.gallery).

Reads the finished run in DIR (results.json's configuration, the units under DIR/ckpt) and the test
images as the evaluate stage does; draws one row per image with each picture's centre enlarged under
it and classifier i's top-1 under A_i's; writes DIR/figures/gallery.png (or --out FILE) atomically.
`repro report DIR` then shows it in claims.md/html. Writing into DIR, it takes the folder's lock
(repro.folder_lock): not while a run writes there."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gallery", help="draw test images beside every autoencoder's reconstruction "
                       "(DIR/figures/gallery.png)", description=__doc__)
    p.add_argument("folder", metavar="DIR", help="a finished run folder: results.json and its checkpoints (ckpt/)")
    p.add_argument("--images", type=int, default=4, metavar="N", help="test images, one row each (default 4)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="picks the test images (default 0: the same "
                   "images every time)")
    p.add_argument("--out", metavar="FILE", help="the PNG written (default DIR/figures/gallery.png, which "
                   "`repro report DIR` shows)")
    p.add_argument("--data", metavar="DIR", help="data root (default $REPRO_DATA, else the one the run recorded)")
    p.add_argument("--device", help="cpu, cuda, cuda:N (default: cuda when available, else cpu)")
    p.add_argument("--wait", action="store_true",
                   help="when another repro command is writing into DIR, wait for it to finish instead of stopping")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from repro.commands.pipeline import limit_openmp_spinning

    limit_openmp_spinning()  # before torch is imported (see there)
    import contextlib
    import time

    from repro.errors import ReproError
    from repro.folder_lock import hold
    from repro.gallery import GalleryConfig, make_gallery, run_context
    from repro.report import GALLERY_FILE

    t0 = time.monotonic()
    folder = Path(args.folder)
    if not folder.is_dir():
        raise ReproError(f"{folder}: no such run folder; give the folder of a finished `repro run`")
    config = GalleryConfig(images=args.images, seed=args.seed)
    out = Path(args.out) if args.out else folder / "figures" / GALLERY_FILE
    if out.is_dir():
        raise ReproError(f"--out {out}: is a folder; give the PNG file to write")
    inside = out.resolve().is_relative_to(folder.resolve())
    # a run writing into DIR may be replacing the units read here: one command per folder, as for the others
    lock = hold(folder, wait=args.wait, label="repro gallery") if inside else contextlib.nullcontext()
    with lock:
        ctx = run_context(folder, data=args.data, device=args.device)
        gallery, _ = make_gallery(ctx, out, config)
    rows, cols = gallery.shape
    print(f"{out}: {rows} test images x {cols} columns ({', '.join(gallery.columns)}) "
          f"in {time.monotonic() - t0:.1f}s")
    return 0
