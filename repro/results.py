"""The results of one run: what ``results.json`` holds and how claims read it.

The pipeline's evaluate stage writes ``<out>/results.json``; the claim checks
(:mod:`repro.claims`) and the report (:mod:`repro.report`) read it through :class:`Results`, and
the paper's own tables are turned into the same object (:func:`repro.paper.paper_results`), so that
one check runs on the paper's numbers and on ours.

Schema (``schema_version`` 2; version 1 files are still read, see below). Classifier keys are the
registry's ("L", "A", "V", "I", "R"); an autoencoder is named ``"A_S"`` (pre-trained only) or
``"A_<key>"`` (decoder fine-tuned on classifier ``<key>``); ``"none"`` means the classifier alone.
Accuracies are fractions in [0, 1]::

    {
      "schema_version": 2,
      "scale": "cpu",
      "classifiers": ["L", "A", "V", "I", "R"],
      "n_test": 10000,
      "accuracy": {                      # Table 1 and Table 2, top-1 and top-5
        "top1": {"none": {"L": 0.61, ...}, "A_S": {"L": ..., ...}, "A_L": {"L": ..., "A": ..., ...}, ...},
        "top5": {... same shape ...}
      },
      "noise": {                         # Sec. 3.3.2, optional
        "levels": [0.0, 0.1, ..., 1.0], "clamp": true, "seed": 0, "n_images": 1000,
        "top1": {"none": {"L": [..11 values..]}, "A_S": {"L": [...]}, "A_L": {"L": [...]}, ...},
        "top5": {... same shape ...}           # A_<key> holds only A_<key>∘<key>
      },
      "nmi": {                           # Sec. 3.5, optional; see repro.analysis.nmi
        "bins": 64, "n_images": 10000, "n_pairs": 5000,
        "intra": {"arithmetic": {"A_S": 0.5, "A_L": ...}, "geometric": {...}, "min": {...}, "max": {...}},
        "inter": {"arithmetic": {"original": 0.1, "A_S": ..., "A_L": ...}, ...},
        "baseline": {"intra": {... as intra ...}, "inter": {... as inter ...}},   # chance level: pixel-shuffled pairs
        "corrected": {"intra": {...}, "inter": {...}},                           # raw - baseline (what claims read)
        "shuffle_seed": 0
      },
      "lab": {                           # Sec. 3.3.1, optional; keys documented in repro.colour
        "A_S": {...}, "A_L": {...}, ...
      },
      "per_image": {                     # per-image values for the paired bootstrap (repro.per_image)
        "encoding": "...", "unit": 2,
        "top1": {"none": {"L": "<bits>", ...}, "A_S": {...}, "A_L": {...}, ...},   # correctness, packed bits
        "top5": {... same shape ...},
        "noise": {"n_images": 1000, "levels": 11,              # bits of (levels x n_images), level-major
                  "top1": {"none": {"L": "<bits>"}, "A_S": {...}, "A_L": {"L": ...}, ...}, "top5": {...}},
        "nmi": {"shuffle_seed": 0,                             # arrays: repro.per_image.encode_array records
                "entropy": {"original": <array n>, "A_S": <array n>, ...},      # nats, per image
                "intra": {"mi": {"A_S": <array n>, ...}, "mi_shuffled": {...}}, # per image
                "inter": {"mi": {"original": <array n//2>, "A_S": ...}, "mi_shuffled": {...}}},  # per pair
        "lab": {"columns": [...], "original_columns": [...], "pixels_per_image": 1024,
                "L_histogram": [0.0, 0.5, 200],               # lo, bin width, bins of repro.colour's L histogram
                "sums": {"original": <array units x 6>, "A_S": <array units x 13>, ...},
                "L_tails": {"original": {"low": {"first_bin": 1, "counts": <array>}, "high": {...}}, "A_S": ...}}
      },
      "pretrain": {"images_seen": [...], "train_mse": [...], "val_mse": [...], "lr": [...]},
      "classifier_training": {"L": {"epochs": 10, "top1": 0.6}, ...},
      "timings_s": {"pretrain": 100.0, ...},
      "figures": {"fig3_lab": "figures/fig3_lab.png", ...},   # relative to the results file
      "provenance": {"config": {...}, "versions": {...}, "git_commit": "...", "seed": 0}
    }

**Where ``per_image`` lives.** :func:`write_results_json` keeps it out of ``results.json``, in a
gzip-compressed JSON file beside it named by its content (``per_image-<sha256 prefix>.json.gz``), and
leaves in its place ``{"file": <that name>, "sha256": <its hash>}``; :func:`read_results_json` (and so
:meth:`Results.from_json`) puts it back, after checking the hash. Why: the per-image values are 98% of
the file (2.39 of 2.45 MB at the cpu scale), base64 text that no reader looks at and that would put a
committed run over the 2 MiB a tracked file may have; apart they are 1.8 MB of gzip, and results.json
is the 60 kB of numbers people read and diff. A name per content means an interrupted rewrite leaves
the previous results.json next to the file it names; the writer removes the other side files only
after results.json is in place. A results.json with its ``per_image`` inline (as written before, or by
hand) is read as it is.

``per_image`` is what makes every claim's bootstrap interval possible: the unit of
resampling is a pair of consecutive test images, and :meth:`Results.resample` recomputes every
aggregate above from these values under one weight vector (a paired bootstrap); the encodings and
why they are exact enough are in :mod:`repro.per_image`. Version 1 (before the bootstrap) had only
``per_image.top1`` and no ``nmi.baseline``/``nmi.corrected``; such files are read as they are, and the
claims that read noise, nMI or LAB statistics there say that they have no interval and why
(:meth:`Results.resample_gaps`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from repro.errors import ReproError
from repro.per_image import CHUNK, PerImage, bootstrap_weights, decode_bits, encode_bits  # noqa: F401 - encode/decode_bits: their home before
from repro.schema import READABLE_VERSIONS, SCHEMA_VERSION, check_results  # noqa: F401 - SCHEMA_VERSION: read from here too

ALONE = "none"
PRETRAINED_AE = "A_S"


PER_IMAGE_FILE = "per_image-{digest}.json.gz"  # beside results.json; see "Where per_image lives" above


def _per_image_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(PER_IMAGE_FILE.format(digest="*")))


def write_results_json(path: str | Path, data: dict[str, Any]) -> None:
    """Write ``data`` as ``path`` (a results.json), its ``per_image`` block in a side file beside it.

    Both writes are atomic; the side file goes first and other side files are removed last, so that at
    every moment the results.json on disk names a side file that exists.
    """
    from repro.checkpoint import atomic_write, write_json_atomic  # noqa: PLC0415 - keeps torch out of report-only imports

    path = Path(path)
    per_image = data.get("per_image")
    keep: Path | None = None
    if isinstance(per_image, dict) and per_image and "file" not in per_image:
        # mtime=0: the same values give the same bytes, so a rerun's files compare equal
        blob = gzip.compress(json.dumps(per_image, separators=(",", ":")).encode(), compresslevel=9, mtime=0)
        digest = hashlib.sha256(blob).hexdigest()
        keep = path.parent / PER_IMAGE_FILE.format(digest=digest[:16])
        if not keep.is_file() or hashlib.sha256(keep.read_bytes()).hexdigest() != digest:
            atomic_write(keep, lambda fh: fh.write(blob))
        data = {**data, "per_image": {"file": keep.name, "sha256": digest}}
    elif isinstance(per_image, dict) and isinstance(per_image.get("file"), str):
        keep = path.parent / Path(per_image["file"]).name  # already a reference (read with read_json): keep its file
    write_json_atomic(path, data)
    for stale in _per_image_files(path.parent):
        if stale != keep:
            stale.unlink(missing_ok=True)


def read_results_json(path: str | Path) -> Any:
    """The JSON of a results.json with its ``per_image`` block put back from its side file.

    Raises :class:`ReproError` naming the file at fault when either file is missing, unreadable or
    does not match the other.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ReproError(f"{path}: no such results file; run `repro run` first") from None
    except OSError as err:  # a folder, no permission
        raise ReproError(f"{path}: cannot read it ({err.strerror or err})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReproError(f"{path}: not a valid results.json ({err})") from None
    ref = data.get("per_image") if isinstance(data, dict) else None
    if isinstance(ref, dict) and "file" in ref:
        data["per_image"] = _read_per_image(path, ref)
    return data


def _read_per_image(path: Path, ref: dict[str, Any]) -> Any:
    name = ref.get("file")
    if not isinstance(name, str) or Path(name).name != name:
        raise ReproError(f"{path}: per_image.file must name a file beside it, got {name!r}")
    side = path.parent / name
    try:
        blob = side.read_bytes()
    except OSError as err:
        raise ReproError(f"{side}: the per-image values that {path.name} names cannot be read "
                         f"({err.strerror or err}); copy it along with {path.name}, or rerun `repro evaluate`") from None
    if hashlib.sha256(blob).hexdigest() != ref.get("sha256"):
        raise ReproError(f"{side}: its sha256 is not the one {path} records for it (a file of another run, or "
                         f"damaged); rerun `repro evaluate`")
    try:
        return json.loads(gzip.decompress(blob))
    except (OSError, EOFError, zlib.error, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ReproError(f"{side}: not gzip-compressed JSON ({err})") from None


def ae_name(classifier: str) -> str:
    """The name of the autoencoder fine-tuned on ``classifier``.

    >>> ae_name("V")
    'A_V'
    """
    return f"A_{classifier}"


@dataclass
class Results:
    """Every number the claims need, from our run or from the paper's tables.

    ``top1[ae][classifier]`` is acc(ae ∘ classifier); ``ae`` is ``"none"``, ``"A_S"`` or ``"A_<key>"``.
    Missing parts (no noise sweep, no nMI) are ``None``; claims that need them report "not measured".
    """

    source: str  # "paper" or the scale name
    classifiers: list[str]
    top1: dict[str, dict[str, float]]
    top5: dict[str, dict[str, float]] = field(default_factory=dict)
    n_test: int | None = None
    per_image: dict[str, dict[str, np.ndarray]] | None = None  # top-1 correctness per test image
    noise: dict[str, Any] | None = None
    nmi: dict[str, Any] | None = None
    lab: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the whole results.json, for the report
    samples: PerImage | None = field(default=None, repr=False, compare=False)  # every per-image value, decoded

    @property
    def provenance(self) -> dict[str, Any]:
        """results.json's provenance: configuration, seeds, versions, commit ({} for the paper's tables)."""
        return self.raw.get("provenance") or {}

    @property
    def recorded_config(self) -> dict[str, Any]:
        """The configuration results.json's provenance records ({} for the paper's tables or an old record)."""
        return self.provenance.get("config") or {}

    # --- the paired bootstrap (repro.per_image) ---

    @property
    def n_units(self) -> int:
        """Resampling units: pairs of consecutive test images (0 without per-image values)."""
        return self.samples.n_units if self.samples is not None else 0

    def resample(self, weights: np.ndarray) -> "Results":
        """A copy whose accuracies, noise curves, nMI (raw, baseline, corrected) and LAB statistics are
        recomputed under bootstrap ``weights``, one per unit (``n_units``), the same for every quantity.

        Unit weights give back this object's numbers exactly. Sections without per-image values are
        left out of the copy (None), so a claim reading them is "not measured" on it rather than
        resampled with fixed numbers; :meth:`resample_gaps` says which and why.
        """
        if self.samples is None:
            raise ValueError(f"{self.source}: no per-image values to resample")
        main, noise, tails = self.samples.values(np.asarray(weights, dtype=np.float64)[None, :])
        return resample(self, self.samples, main[0], noise[0], tails[0])

    def bootstrap(self, resamples: int, seed: int) -> Iterator["Results"]:
        """``resamples`` seeded bootstrap resamples (:meth:`resample` under multinomial unit weights);
        nothing without per-image values. Subclasses (repro.replicates) resample at more levels."""
        if self.samples is None or resamples <= 0:
            return iter(())
        return draw_resamples(self, self.samples, resamples, seed)

    def resample_gaps(self) -> dict[str, str]:
        """The sections whose numbers a resample cannot recompute, with the reason."""
        if self.samples is None:
            return {"all": "results.json holds no per-image values"}
        return dict(self.samples.gaps)

    @property
    def fine_tuned(self) -> list[str]:
        """Names of the fine-tuned autoencoders, in classifier order, that have results."""
        return [ae_name(c) for c in self.classifiers if ae_name(c) in self.top1]

    def grid(self, metric: str = "top1") -> np.ndarray:
        """The cross grid acc(A_i∘j): rows are the fine-tuned AEs, columns the classifiers."""
        table = self.top1 if metric == "top1" else self.top5
        return np.array([[table[ae][c] for c in self.classifiers] for ae in self.fine_tuned], dtype=float)

    def acc(self, ae: str, classifier: str, metric: str = "top1") -> float:
        table = self.top1 if metric == "top1" else self.top5
        return float(table[ae][classifier])

    @classmethod
    def from_json(cls, path: str | Path) -> "Results":
        return cls.from_dict(read_results_json(path), origin=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "results") -> "Results":
        check_results(data, origin)  # one-line ReproError naming the JSON path at fault
        version = data.get("schema_version")
        if version not in READABLE_VERSIONS:
            raise ReproError(f"{origin}: schema_version {version!r}, this repro reads {', '.join(map(str, READABLE_VERSIONS))}")
        try:
            classifiers = list(data["classifiers"])
            top1 = data["accuracy"]["top1"]
            top5 = data["accuracy"].get("top5", {})
        except (KeyError, TypeError) as err:
            raise ReproError(f"{origin}: missing field {err}") from None
        n_test = data.get("n_test")
        per_image = samples = None
        if data.get("per_image") and n_test:
            per_image = {
                ae: {c: decode_bits(bits, n_test) for c, bits in row.items()}
                for ae, row in data["per_image"]["top1"].items()
            }
            try:
                samples = PerImage.decode(data)
            except (KeyError, TypeError, ValueError, IndexError, zlib.error) as err:
                raise ReproError(f"{origin}: per_image: cannot decode ({type(err).__name__}: {err})") from None
        return cls(
            source=data.get("scale", "unknown"),
            classifiers=classifiers,
            top1=top1,
            top5=top5,
            n_test=n_test,
            per_image=per_image,
            noise=data.get("noise"),
            nmi=data.get("nmi"),
            lab=data.get("lab"),
            raw=data,
            samples=samples,
        )


# --- bootstrap resamples of a Results (per_image computes the values, this builds the copies) ---


def resample(results: "Results", data: PerImage, main: np.ndarray, noise: np.ndarray, tails: np.ndarray) -> "Results":
    """A copy of ``results`` with every aggregate that has per-image values replaced by its recomputed
    value (one row each of :meth:`PerImage.values`). Sections without per-image values are left out of
    the copy (claims reading them raise NotMeasured on it; ``data.gaps`` says why)."""
    v, vn, vt = main.tolist(), noise.tolist(), tails.tolist()
    changes: dict[str, Any] = {}
    for metric in ("top1", "top5"):
        if metric in data.top:
            changes[metric] = {ae: {c: v[i] for c, i in row.items()} for ae, row in data.top[metric].items()}
    if "top5" not in data.top:
        changes["top5"] = {}
    changes["noise"] = None
    if data.noise and results.noise:
        changes["noise"] = {**results.noise, **{m: {g: {c: [vn[i] for i in idx] for c, idx in row.items()}
                                                    for g, row in groups.items()} for m, groups in data.noise.items()}}
    changes["nmi"] = None
    if data.nmi and results.nmi:
        raw = {kind: {avg: {n: v[i] for n, i in row.items()} for avg, row in t.items()} for kind, t in data.nmi["raw"].items()}
        base = {kind: {avg: {n: v[i] for n, i in row.items()} for avg, row in t.items()}
                for kind, t in data.nmi["baseline"].items()}
        corrected = {kind: {avg: {n: x - base[kind][avg][n] for n, x in row.items()} for avg, row in t.items()}
                     for kind, t in raw.items()}
        changes["nmi"] = {**results.nmi, **raw, "baseline": base, "corrected": corrected}
    changes["lab"] = None
    if data.lab and results.lab:
        lab = {}
        for name, entry in data.lab.items():
            s = {k: x for k, x in results.lab[name].items() if k != "hist_distance"}  # whole histograms: not resampled
            for key, idx in entry.items():
                s[key] = {ch: v[i] for ch, i in idx.items()} if isinstance(idx, dict) else v[idx]
            lab[name] = s
        for k, (name, key, _, _, _) in enumerate(data.tails):
            lab[name][key] = vt[k]
        for s in lab.values():
            for a, b, r in (("L_p01", "L_p99", "L_range"), ("L_p01_original", "L_p99_original", "L_range_original")):
                if a in s and b in s:
                    s[r] = s[b] - s[a]
        changes["lab"] = lab
    return replace(results, **changes)


def draw_resamples(results: "Results", data: PerImage, count: int, seed: int) -> Iterator["Results"]:
    """``count`` seeded bootstrap resamples of ``results``, computed in chunks of :data:`CHUNK`."""
    weights = bootstrap_weights(data.n_units, count, seed)
    while True:
        chunk = [w for _, w in zip(range(CHUNK), weights)]
        if not chunk:
            return
        main, noise, tails = data.values(np.stack(chunk))
        for k in range(len(chunk)):
            yield resample(results, data, main[k], noise[k], tails[k])
