"""Images for every stage: the bundled digits (smoke), CIFAR-10, ImageNet folders; samplers; transforms.

Sources
    ``digits``: scikit-learn's bundled 8x8 digits, upsampled to 32x32 and repeated to RGB (no download).
    ``cifar10``: ``<root>/cifar10/{train,test}/<class>/*.jpg`` (ImageFolder), else torchvision's
    ``cifar-10-batches-py`` under ``<root>/cifar10`` or ``<root>``, downloaded there with ``--download``.
    ``imagenet``: ``<root>/imagenet/{train,val}/<wnid>/*`` (ImageFolder); AE pretraining reads any image
    folder given as ``data.pretrain_dir`` (labels ignored), standing in for YFCC100m (Sec. 3.2).
    The root is ``--data`` or ``$REPRO_DATA``.

Decoding once
    Measured here (2 shared cores, warm page cache): decoding CIFAR-10's 50,000 JPEGs takes 7.9 s with
    PIL and 2.5 s with ``torchvision.io.decode_image``; loading the same images from a uint8 tensor file
    takes 0.4 s. So small data sets (CIFAR-10) are decoded once with torchvision into
    ``<cache>/<name>-<split>-<hash>.pt`` and held in memory; ImageNet stays as files (PIL per image,
    in DataLoader workers).

Order and randomness
    Training order comes from :class:`EpochSampler`, a :class:`~torch.utils.data.DistributedSampler`
    whose permutation depends only on (seed, epoch), which can start mid-epoch (resume) and which hands
    each image a seed derived from (seed, epoch, image index): augmentations are drawn from that seed, so
    an image looks the same whatever the batch size, worker count, number of processes or resume point.
    The test split is put in one fixed seeded order (classes mixed), so "the first N test images" (noise
    sweep) and "consecutive pairs" (inter-nMI, Sec. 3.5) are not all from one class.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from repro.config import DATA_ENV, DataConfig, RunConfig
from repro.errors import ReproError
from repro.checkpoint import load_checkpoint, save_checkpoint

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


# --- image sources ----------------------------------------------------------------------------------


@dataclass
class TensorImages:
    """Decoded images held in memory: ``images`` uint8 (N, 3, H, W), ``labels`` int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def load(self, index: int) -> torch.Tensor:
        return self.images[index]

    def subset(self, indices: Sequence[int]) -> "TensorImages":
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        return TensorImages(self.images[idx], self.labels[idx], self.classes, self.name)


@dataclass
class FileImages:
    """Image files decoded on access (ImageNet); a file that does not decode is named in the error."""

    paths: list[str]
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int):
        from PIL import Image, UnidentifiedImageError

        path = self.paths[index]
        try:
            with Image.open(path) as img:
                return img.convert("RGB")
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
            raise ReproError(f"{path}: cannot decode image ({err})") from None

    def subset(self, indices: Sequence[int]) -> "FileImages":
        idx = list(indices)
        return FileImages([self.paths[i] for i in idx], self.labels[torch.as_tensor(idx, dtype=torch.long)],
                          self.classes, self.name)


ImageSource = TensorImages | FileImages


def resolve_root(data: DataConfig) -> Path | None:
    """``--data``, else ``$REPRO_DATA``; ``None`` when neither is set."""
    root = data.root or os.environ.get(DATA_ENV)
    return Path(root).expanduser() if root else None


def _where(data: DataConfig) -> str:
    if data.root:
        return f"--data {data.root}"
    env = os.environ.get(DATA_ENV)
    return f"${DATA_ENV}={env}" if env else f"no --data and no ${DATA_ENV}"


def digits_split(split: str) -> TensorImages:
    """scikit-learn's 1,797 digits as 32x32 RGB uint8; a fixed seeded 1,297/500 train/test split."""
    import numpy as np
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]  # (N,1,8,8) in [0,1]
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)
    x = (x * 255).round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    y = torch.from_numpy(bunch.target.astype(np.int64))
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(1797))
    idx = order[:1297] if split == "train" else order[1297:]
    return TensorImages(x[idx].contiguous(), y[idx].contiguous(), tuple(str(i) for i in range(10)), f"digits-{split}")


def list_image_folder(folder: Path, *, labelled: bool = True) -> tuple[list[str], list[int], tuple[str, ...]]:
    """Files of an ImageFolder tree (``labelled``) or of any folder tree (labels all 0), sorted."""
    if not folder.is_dir():
        raise ReproError(f"{folder}: no such folder")
    if labelled:
        classes = tuple(sorted(e.name for e in os.scandir(folder) if e.is_dir()))
        if not classes:
            raise ReproError(f"{folder}: expected one sub-folder per class (ImageFolder layout), found none")
        paths, labels = [], []
        for label, cls in enumerate(classes):
            for dirpath, _, files in sorted(os.walk(folder / cls)):
                for f in sorted(files):
                    if f.lower().endswith(IMAGE_EXTENSIONS):
                        paths.append(os.path.join(dirpath, f))
                        labels.append(label)
    else:
        classes = ("image",)
        paths = sorted(
            os.path.join(d, f) for d, _, files in os.walk(folder) for f in files if f.lower().endswith(IMAGE_EXTENSIONS)
        )
        labels = [0] * len(paths)
    if not paths:
        raise ReproError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)}) found")
    return paths, labels, classes


def _listing_hash(paths: list[str]) -> str:
    h = hashlib.sha256()
    for p in paths:
        st = os.stat(p)
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def source_fingerprint(kind: str, path: Path | None) -> str:
    """A cheap fingerprint of what a source (:func:`locate`'s ``kind, path``) holds, for the stage keys.

    Image folders: the class names and every image's path relative to the folder and size. Measured:
    0.2-0.3 s for CIFAR-10's 60,000 files (2 shared cores, warm cache), so it is recomputed per run, not
    cached. Not the mtimes, which a copy or a fresh download of the same files changes (and the cpu
    scale would be recomputed for nothing), nor the bytes: an image edited to the very same size goes
    unnoticed (rerun with ``--force``). torchvision's CIFAR-10 files: a constant, as torchvision checks
    their md5 when it loads them. The digits: a hash of scikit-learn's arrays.
    """
    h = hashlib.sha256(f"{kind}\n".encode())
    if kind == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        h.update(bunch.images.tobytes())
        h.update(bunch.target.tobytes())
    elif kind == "cifar-torchvision":
        h.update(b"cifar-10-python, md5-checked by torchvision")
    else:
        paths, _, classes = list_image_folder(Path(path), labelled=(kind == "folder"))
        h.update("\0".join(classes).encode())
        prefix = len(os.path.join(str(path), ""))
        for p in paths:
            h.update(f"\n{p[prefix:]}\0{os.stat(p).st_size}".encode())
    return h.hexdigest()[:16]


def _decoder() -> Callable[[str], torch.Tensor]:
    """torchvision's decoder (3x faster than PIL here, see the module doc); PIL where it is gone.

    torchvision 0.29 deprecates its decoders in favour of TorchCodec (warning on every call, silenced
    by the caller); pyproject pins torchvision < 0.30.
    """
    try:
        from torchvision.io import ImageReadMode, decode_image, read_file

        return lambda path: decode_image(read_file(path), mode=ImageReadMode.RGB)
    except ImportError:  # pragma: no cover - a torchvision without the decoders
        import numpy as np
        from PIL import Image

        def pil(path: str) -> torch.Tensor:
            with Image.open(path) as img:
                return torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1).contiguous()

        return pil


def decode_files(paths: list[str], progress: bool = False) -> torch.Tensor:
    """Decode equally sized image files into one uint8 (N, 3, H, W) tensor."""
    import warnings

    from PIL import UnidentifiedImageError

    decode = _decoder()
    out = None
    it = enumerate(paths)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=len(paths), desc="decode", unit="img", leave=False, disable=None)  # off unless a terminal
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torchvision\.io")
        for i, path in it:
            try:
                img = decode(path)
            except (RuntimeError, OSError, ValueError, UnidentifiedImageError) as err:
                raise ReproError(f"{path}: cannot decode image ({str(err).splitlines()[0]})") from None
            if out is None:
                out = torch.empty((len(paths), *img.shape), dtype=torch.uint8)
            if img.shape != out.shape[1:]:
                raise ReproError(f"{path}: image of size {tuple(img.shape[1:])}, the others are {tuple(out.shape[2:])}")
            out[i] = img
    if out is None:
        raise ReproError("no images to decode")
    return out


def cached_folder(folder: Path, name: str, cache_dir: Path | None, progress: bool = False) -> TensorImages:
    """An ImageFolder of small equal-size images, decoded once and cached as a uint8 tensor file.

    The cache file name carries a hash of the file list (paths, sizes, mtimes), so changed data is
    decoded again. The file is written atomically and loaded with ``weights_only=True``.
    """

    paths, labels, classes = list_image_folder(folder)
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"{name}-{_listing_hash(paths)}.pt"
        if cache.exists():
            try:
                blob = load_checkpoint(cache)
                return TensorImages(blob["images"], blob["labels"], tuple(blob["classes"]), name)
            except ReproError:
                pass  # unreadable cache (e.g. a disk filled up earlier): decode again
    images = decode_files(paths, progress=progress)
    labels_t = torch.tensor(labels, dtype=torch.long)
    if cache is not None:
        save_checkpoint({"images": images, "labels": labels_t, "classes": list(classes)}, cache)
    return TensorImages(images, labels_t, classes, name)


def _cifar_torchvision(base: Path, split: str, download: bool) -> TensorImages:
    from torchvision.datasets import CIFAR10

    try:
        ds = CIFAR10(str(base), train=(split == "train"), download=download)
    except RuntimeError as err:
        raise ReproError(f"{base}: torchvision's CIFAR-10 copy is unusable ({err})") from None
    except OSError as err:
        raise ReproError(f"{base}: downloading CIFAR-10 failed ({err}); put it there by hand") from None
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
    return TensorImages(images, torch.tensor(ds.targets, dtype=torch.long), tuple(ds.classes), f"cifar10-{split}")


def locate(cfg: RunConfig, split: str) -> tuple[str, Path | None]:
    """Where ``split`` ("train", "test" or "pretrain") is, without reading it: (kind, path).

    kind: "digits", "folder" (ImageFolder), "cifar-torchvision" (path: the folder holding
    cifar-10-batches-py, or where to download it), "images" (any image tree: ``data.pretrain_dir``).
    Raises :class:`ReproError` saying where it looked and how to get the data.
    """
    data = cfg.data
    if split == "pretrain":
        if data.pretrain_dir:
            folder = Path(data.pretrain_dir).expanduser()
            if not folder.is_dir():
                raise ReproError(f"data.pretrain_dir {folder}: no such folder (the images for AE pretraining)")
            return "images", folder
        split = "train"
    if data.dataset == "digits":
        return "digits", None
    root = resolve_root(data)
    if data.dataset == "cifar10":
        if root is None:
            raise ReproError(
                f"CIFAR-10: no data root ({_where(data)}); pass --data DIR or set {DATA_ENV} to a folder holding "
                "cifar10/{train,test}/<class>/*.jpg (or torchvision's cifar-10-batches-py; --download fetches it)"
            )
        folder = root / "cifar10" / split
        if folder.is_dir():
            return "folder", folder
        for base in (root / "cifar10", root):
            if (base / "cifar-10-batches-py").is_dir():
                return "cifar-torchvision", base
        if data.download:
            return "cifar-torchvision", root / "cifar10"
        raise ReproError(
            f"CIFAR-10: looked for {folder} (ImageFolder) and {root / 'cifar10' / 'cifar-10-batches-py'} "
            f"(torchvision) from {_where(data)}; neither exists. Put CIFAR-10 there, pass --download to "
            "fetch it with torchvision, or run --scale smoke (bundled digits, no download)"
        )
    if data.dataset == "imagenet":
        sub = "val" if split == "test" else "train"
        folder = root / "imagenet" / sub if root else None
        if folder is None or not folder.is_dir():
            raise ReproError(
                f"ImageNet: looked for {folder or '<root>/imagenet/' + sub} from {_where(data)}; download "
                "ILSVRC2012 from image-net.org and arrange train/ and val/ as <wnid>/ class folders "
                "(the val images sorted into class folders)"
            )
        return "folder", folder
    raise ReproError(f"data.dataset {data.dataset!r}: unknown")


def check_available(cfg: RunConfig, splits: Sequence[str] = ("train", "test", "pretrain")) -> None:
    """Fail early, before any output is written, when a split the run needs is not there."""
    for split in splits:
        locate(cfg, split)


def load_source(cfg: RunConfig, split: str, cache_dir: Path | None = None, progress: bool = False) -> ImageSource:
    """All images of ``split`` ("train", "test" or "pretrain") of the configured data set, unsubsetted."""
    kind, path = locate(cfg, split)
    name = "pretrain" if kind == "images" else f"{cfg.data.dataset}-{'test' if split == 'test' else 'train'}"
    if kind == "digits":
        return digits_split("test" if split == "test" else "train")
    if kind == "cifar-torchvision":
        return _cifar_torchvision(path, "test" if split == "test" else "train", cfg.data.download)
    if kind == "folder" and cfg.data.dataset == "cifar10":
        return cached_folder(path, name, cache_dir, progress=progress)
    paths, labels, classes = list_image_folder(path, labelled=(kind == "folder"))
    return FileImages(paths, torch.tensor(labels, dtype=torch.long), classes, name)


def seeded_order(n: int, seed: int) -> list[int]:
    """A fixed permutation of range(n) (the evaluation order, the training subset)."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()


def heldout_indices(cfg: RunConfig, n: int) -> list[int]:
    """Indices of the ``data.heldout`` training images set aside for validation, sorted.

    Every training stage excludes them (pretraining, the classifiers, fine-tuning), so that the
    pretraining MSE checks and the fine-tuning convergence checks (Secs. 3.2, 3.3) read images no
    stage trained on, and the test set is read by the final evaluation alone. Drawn with a seed of
    their own, so a ``data.train_limit`` subset never changes which images are held out.

    >>> from repro.config import RunConfig, DataConfig
    >>> cfg = RunConfig(data=DataConfig(heldout=3))
    >>> heldout_indices(cfg, 10) == heldout_indices(cfg, 10) and len(heldout_indices(cfg, 10))
    3
    """
    k = min(cfg.data.heldout, n)
    return sorted(seeded_order(n, cfg.seed + 303)[:k]) if k else []


def _labelled_train(cfg: RunConfig, split: str) -> bool:
    """Whether ``split`` reads the labelled training split (where the held-out images come from)."""
    return split == "train" or (split == "pretrain" and not cfg.data.pretrain_dir)


def train_source(cfg: RunConfig, cache_dir: Path | None, limit: int | None = None, split: str = "train",
                 progress: bool = False) -> ImageSource:
    """The training images (``split`` "train" or "pretrain") without the held-out ones, a seeded
    subset of ``limit`` (else ``data.train_limit``) if given; ``data.pretrain_dir``'s images whole."""
    src = load_source(cfg, split, cache_dir, progress)
    if not _labelled_train(cfg, split):
        return src  # data.pretrain_dir: a corpus of its own (the paper's YFCC100m), never subsetted
    if cfg.data.heldout:
        held = set(heldout_indices(cfg, len(src)))
        src = src.subset([i for i in range(len(src)) if i not in held])
    limit = limit if limit is not None else cfg.data.train_limit
    if limit is not None and limit < len(src):
        src = src.subset(sorted(seeded_order(len(src), cfg.seed + 101)[:limit]))
    return src


def heldout_source(cfg: RunConfig, cache_dir: Path | None, progress: bool = False) -> ImageSource:
    """The held-out training images (see :func:`heldout_indices`), in a fixed order."""
    src = load_source(cfg, "train", cache_dir, progress)
    idx = heldout_indices(cfg, len(src))
    if not idx:
        raise ReproError("data.heldout is 0: the validation checks need held-out training images "
                         "(--set data.heldout=N)")
    return src.subset(idx)


def eval_source(cfg: RunConfig, cache_dir: Path | None, progress: bool = False) -> ImageSource:
    """The evaluation images in one fixed seeded order, truncated to ``data.test_limit``."""
    src = load_source(cfg, "test", cache_dir, progress)
    order = seeded_order(len(src), cfg.seed + 202)
    if cfg.data.test_limit is not None:
        order = order[: cfg.data.test_limit]
    return src.subset(order)


# --- transforms -------------------------------------------------------------------------------------


def pretrain_transform(cfg: RunConfig, augment: bool) -> Callable:
    """Sec. 3.2's augmentations, with torchvision.transforms.v2: scale, rotation, shift, noise, blur,
    brightness, contrast, colour, mirror. The paper names them but gives no magnitudes; ours are moderate
    (each applied with probability 0.5 or less) so that most inputs stay natural images.

    Input: uint8 CHW tensor or PIL image; output: float (3, s, s) in [0, 1], ``s = data.pretrain_size``.
    """
    from torchvision.transforms import v2

    size = cfg.data.pretrain_size
    large = cfg.data.dataset == "imagenet" or cfg.data.pretrain_dir is not None
    ops: list[Any] = [v2.ToImage()]
    if large:  # photos of any size -> size x size crops; the crop's scale is the "scale" augmentation
        ops.append(v2.RandomResizedCrop(size, scale=(0.25, 1.0), antialias=True) if augment else
                   v2.Compose([v2.Resize(size, antialias=True), v2.CenterCrop(size)]))
    elif cfg.data.resize:  # 32x32 images at a larger side (docs/instrument.md): resized, then cut as every stage
        ops += [v2.Resize(cfg.data.resize, antialias=True), v2.CenterCrop(size)]
    if augment:
        ops += [
            v2.RandomHorizontalFlip(),  # mirror
            v2.RandomApply([v2.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.85, 1.15))], p=0.5),
            v2.RandomApply([v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03)], p=0.5),
            v2.RandomApply([v2.GaussianBlur(3 if size <= 64 else 7, sigma=(0.1, 1.5))], p=0.2),
        ]
    ops.append(v2.ToDtype(torch.float32, scale=True))
    if augment:
        ops.append(v2.RandomApply([v2.GaussianNoise(mean=0.0, sigma=0.03, clip=True)], p=0.2))
    return v2.Compose(ops)


def train_transform(cfg: RunConfig, augment: bool) -> Callable:
    """Classifier training and AE fine-tuning: random crop (padding 4 at 32 px) + mirror on CIFAR-sized
    images (resized to ``data.resize`` first where set), random-resized crop + mirror on ImageNet; float
    output in [0, 1]."""
    from torchvision.transforms import v2

    size = cfg.data.image_size
    if not augment:
        return eval_transform(cfg)
    if cfg.data.dataset == "imagenet":
        ops = [v2.ToImage(), v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()]
    else:
        # 32x32 images shown at a larger side are resized first (data.resize), and the crop's padding keeps
        # its share of the image (4 of 32 pixels), so the augmentation is the same at that side.
        resize = [v2.Resize(cfg.data.resize, antialias=True)] if cfg.data.resize else []
        pad = 4 * size // 32 if resize else 4
        ops = [v2.ToImage(), *resize, v2.RandomCrop(size, padding=pad, padding_mode="reflect"), v2.RandomHorizontalFlip()]
    return v2.Compose(ops + [v2.ToDtype(torch.float32, scale=True)])


def eval_transform(cfg: RunConfig) -> Callable:
    """Center crop, single scale (Table 1): resize the shorter side to ``data.resize`` (paper: 256),
    crop ``data.image_size`` (paper: 224); CIFAR-sized data passes through unchanged."""
    from torchvision.transforms import v2

    ops: list[Any] = [v2.ToImage()]
    if cfg.data.resize:
        ops.append(v2.Resize(cfg.data.resize, antialias=True))
    if cfg.data.resize or cfg.data.dataset == "imagenet":
        ops.append(v2.CenterCrop(cfg.data.image_size))
    return v2.Compose(ops + [v2.ToDtype(torch.float32, scale=True)])


# --- dataset, sampler, loader -----------------------------------------------------------------------


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A well-mixed 63-bit seed for one image in one epoch (splitmix64 finaliser).

    >>> sample_seed(0, 0, 1) != sample_seed(0, 0, 2) != sample_seed(0, 1, 1)
    True
    """
    z = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFF


class ImageDataset(Dataset):
    """(image float [0,1] (3,H,W), label) pairs from a source through a transform.

    Indices are plain ints (evaluation) or ``(index, seed)`` pairs from :class:`EpochSampler`: then the
    transform's random draws come from that seed, inside ``torch.random.fork_rng`` so the caller's RNG
    stream is untouched (a resumed run must draw the same dropout masks as an uninterrupted one).
    """

    def __init__(self, source: ImageSource, transform: Callable | None = None):
        self.source = source
        self.transform = transform

    def __len__(self) -> int:
        return len(self.source)

    def _one(self, item: Any) -> tuple[torch.Tensor, int]:
        index, seed = item if isinstance(item, tuple) else (item, None)
        image = self.source.load(index)
        if seed is not None:
            torch.random.default_generator.manual_seed(seed)  # CPU stream only (fork_rng saved it)
        if self.transform is not None:
            image = self.transform(image)
        elif image.dtype == torch.uint8:
            image = image.float().div_(255)
        return image, int(self.source.labels[index])

    def __getitem__(self, item: Any) -> tuple[torch.Tensor, int]:
        return self.__getitems__([item])[0]

    def __getitems__(self, items: list[Any]) -> list[tuple[torch.Tensor, int]]:
        if items and isinstance(items[0], tuple):
            with torch.random.fork_rng(devices=[]):  # one fork per batch: measured 0.12 ms per fork
                return [self._one(item) for item in items]
        return [self._one(item) for item in items]


class EpochSampler(DistributedSampler):
    """DistributedSampler with a resumable start and per-image augmentation seeds.

    The permutation is DistributedSampler's own (``seed + epoch``); rank r takes every world-th index.
    ``set_position(epoch, start)`` skips this rank's first ``start`` indices, so a resumed epoch yields
    exactly the tail of the uninterrupted one.
    """

    def __init__(self, dataset: Dataset, *, seed: int, num_replicas: int = 1, rank: int = 0,
                 shuffle: bool = True, with_seeds: bool = True, drop_last: bool = True):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                         drop_last=drop_last)
        self.with_seeds = with_seeds
        self.start = 0

    def set_position(self, epoch: int, start: int = 0) -> None:
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self):
        indices = list(super().__iter__())[self.start:]
        if self.with_seeds:
            return iter([(i, sample_seed(self.seed, self.epoch, i)) for i in indices])
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples - self.start


def make_loader(dataset: Dataset, batch_size: int, *, sampler=None, num_workers: int = 0, device: str = "cpu",
                drop_last: bool = False) -> DataLoader:
    """A DataLoader that leaves the global RNG alone.

    Each DataLoader iterator draws a base seed for its workers; from the global RNG by default, which
    would shift the dropout masks of a resumed run (measured: AlexNet's weights differed after a
    kill and resume until the loader got its own generator). Augmentation seeds come from the sampler.
    """
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, shuffle=False, num_workers=num_workers,
        drop_last=drop_last, pin_memory=str(device).startswith("cuda"), persistent_workers=False,
        generator=torch.Generator().manual_seed(0),
    )


def eval_loader(cfg: RunConfig, cache_dir: Path | None, device: str = "cpu", progress: bool = False) -> DataLoader:
    """The evaluation loader: fixed order, no augmentation, ``evaluate.batch_size`` images a batch."""
    ds = ImageDataset(eval_source(cfg, cache_dir, progress), eval_transform(cfg))
    return make_loader(ds, cfg.evaluate.batch_size, num_workers=cfg.data.num_workers, device=device)


def num_classes(source: ImageSource) -> int:
    return len(source.classes)
