"""Data sources, errors, the decode cache, transforms and the resumable seeded sampler (repro.data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from repro import data as D
from repro.config import apply_overrides, scale_config
from repro.errors import ReproError


def _folder(root: Path, split: str = "train", n: int = 3, size: int = 8) -> list[Path]:
    paths = []
    for c, cls in enumerate(("cat", "dog")):
        (root / "cifar10" / split / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            p = root / "cifar10" / split / cls / f"{i:04d}.png"  # lossless, so pixels can be compared
            Image.new("RGB", (size, size), (40 * i, 100 * c, 7)).save(p)
            paths.append(p)
    return paths


def test_digits_are_bundled_rgb_32px():
    train, test = D.digits_split("train"), D.digits_split("test")
    assert train.images.shape == (1297, 3, 32, 32) and test.images.shape == (500, 3, 32, 32)
    assert train.images.dtype == torch.uint8 and train.labels.dtype == torch.int64
    assert torch.equal(train.images[:, 0], train.images[:, 1])  # grey digits repeated to RGB
    assert set(train.labels.tolist()) == set(range(10))
    assert torch.equal(D.digits_split("train").images, train.images)  # deterministic split


def test_smoke_sources_respect_limits_and_a_fixed_mixed_order():
    cfg = scale_config("smoke")
    train = D.train_source(cfg, None)
    test = D.eval_source(cfg, None)
    assert len(train) == cfg.data.train_limit and len(test) == cfg.data.test_limit
    assert torch.equal(D.eval_source(cfg, None).labels, test.labels)
    assert len(set(test.labels[:20].tolist())) >= 5  # classes mixed, not one class after another


def test_missing_data_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("REPRO_DATA", raising=False)
    cfg = scale_config("cpu")
    with pytest.raises(ReproError, match="REPRO_DATA"):
        D.load_source(cfg, "train")
    cfg = apply_overrides(cfg, data=str(tmp_path))
    with pytest.raises(ReproError) as err:
        D.load_source(cfg, "train")
    msg = str(err.value)
    assert str(tmp_path / "cifar10" / "train") in msg and "--download" in msg and "smoke" in msg
    paper = apply_overrides(scale_config("paper"), data=str(tmp_path))
    with pytest.raises(ReproError, match="imagenet/train"):
        D.load_source(paper, "train")


def test_corrupt_image_is_named(tmp_path):
    _folder(tmp_path)
    bad = tmp_path / "cifar10" / "train" / "dog" / "0001.png"
    bad.write_bytes(b"not an image at all")
    cfg = apply_overrides(scale_config("cpu"), data=str(tmp_path))
    with pytest.raises(ReproError, match="0001.png"):
        D.load_source(cfg, "train", cache_dir=tmp_path / "cache")
    files = D.FileImages([str(bad)], torch.zeros(1, dtype=torch.long), ("x",), "t")  # the ImageNet path
    with pytest.raises(ReproError, match="0001.png"):
        files.load(0)


def test_decode_once_then_load_the_cache(tmp_path, monkeypatch):
    paths = _folder(tmp_path)
    cfg = apply_overrides(scale_config("cpu"), data=str(tmp_path))
    cache = tmp_path / "cache"
    first = D.load_source(cfg, "train", cache_dir=cache)
    assert first.images.shape == (6, 3, 8, 8) and first.classes == ("cat", "dog")
    assert first.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert torch.equal(first.images[4].permute(1, 2, 0), torch.from_numpy(__import__("numpy").array(Image.open(paths[4]))))
    assert len(list(cache.glob("cifar10-train-*.pt"))) == 1

    def no_decoding(*a, **k):
        raise AssertionError("decoded again although the cache is valid")

    monkeypatch.setattr(D, "decode_files", no_decoding)
    again = D.load_source(cfg, "train", cache_dir=cache)
    assert torch.equal(again.images, first.images)
    # a changed file changes the listing hash: decoded again, not served stale
    Image.new("RGB", (8, 8), (255, 255, 255)).save(paths[0])
    os.utime(paths[0], ns=(1, 1))
    with pytest.raises(AssertionError, match="decoded again"):
        D.load_source(cfg, "train", cache_dir=cache)


def test_pretrain_augmentation_is_seeded_and_in_range():
    cfg = scale_config("smoke")
    src = D.train_source(cfg, None)
    ds = D.ImageDataset(src, D.pretrain_transform(cfg, augment=True))
    a = ds.__getitems__([(3, 11), (5, 12)])
    b = ds.__getitems__([(5, 12)])  # another batch, same image and seed
    assert torch.equal(a[1][0], b[0][0])
    c = ds.__getitems__([(5, 13)])
    assert not torch.equal(b[0][0], c[0][0])
    x = a[0][0]
    assert x.dtype == torch.float32 and x.shape == (3, 32, 32) and 0 <= float(x.min()) and float(x.max()) <= 1
    # large photos (paper scale) become pretrain_size crops
    big = apply_overrides(scale_config("paper"), sets=["data.pretrain_size=64"])
    photo = Image.new("RGB", (120, 90), (10, 200, 30))
    for augment in (True, False):
        torch.manual_seed(0)
        assert D.pretrain_transform(big, augment)(photo).shape == (3, 64, 64)
    assert D.eval_transform(apply_overrides(scale_config("paper"), sets=["data.resize=80", "data.image_size=64"]))(
        photo).shape == (3, 64, 64)


def test_augmentation_leaves_the_global_rng_alone():
    cfg = scale_config("smoke")
    ds = D.ImageDataset(D.train_source(cfg, None), D.train_transform(cfg, augment=True))
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    loader = D.make_loader(ds, 8, sampler=D.EpochSampler(ds, seed=1))
    next(iter(loader))
    assert torch.equal(torch.rand(3), expected)


def test_sampler_order_resume_and_shards():
    ds = list(range(20))
    s = D.EpochSampler(ds, seed=3)
    s.set_position(2)
    full = list(s)
    s.set_position(2)
    assert list(s) == full  # depends on (seed, epoch) only
    s.set_position(3)
    assert [i for i, _ in s] != [i for i, _ in full]
    s.set_position(2, start=7)
    assert list(s) == full[7:] and len(s) == 13  # a resumed epoch is the tail of the full one
    shards = [D.EpochSampler(ds, seed=3, num_replicas=2, rank=r) for r in (0, 1)]
    for sh in shards:
        sh.set_position(2)
    r0, r1 = (list(sh) for sh in shards)
    # global batch of 4 = first 4 of the 1-process order = 2 from each rank, same augmentation seeds
    assert sorted(r0[:2] + r1[:2]) == sorted(full[:4])
    assert sorted(r0 + r1) == sorted(full)


def test_cifar10_from_the_shared_folder(data_root, tmp_path):
    cfg = apply_overrides(scale_config("cpu"), data=str(data_root), sets=["data.test_limit=200"])
    test = D.eval_source(cfg, tmp_path)
    assert len(test) == 200 and test.images.shape[1:] == (3, 32, 32) and len(test.classes) == 10
    assert len(set(test.labels[:50].tolist())) >= 8
    loader = D.eval_loader(cfg, tmp_path)
    images, labels = next(iter(loader))
    assert images.dtype == torch.float32 and images.shape == (200, 3, 32, 32) and labels.shape == (200,)
