"""What an A_S can give back at most: the measurement behind the report's ceiling section (Sec. 3.3).

Decoder-only fine-tuning (the paper's method) starts from A_S and keeps its best held-out check, whose
first is A_S itself; no decoder gives a classifier more than the images themselves. So, for classifier
i, A_S∘i and i alone bracket what A_i∘i can reach, and what the frozen encoder keeps decides where in
that bracket the ceiling lies. :func:`repro.evaluation.autoencoder_accuracy` measures one AE against a run's
classifiers on the test set: top-1/top-5 of i alone and of AE∘i, and the AE's reconstruction MSE.
``repro ceiling`` (:mod:`repro.commands.ceiling`) runs it on the A_S of a configuration, e.g. one
pre-trained at another width (``--set ae.width=1.0``), and writes ``<out>/ceiling.json``; ``repro
report --widths DIR...`` shows A_S's quality against its width beside the run's own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.results import ALONE, PRETRAINED_AE, Results

CEILING_FILE = "ceiling.json"


def read_ceiling(folder: str | Path, results: "Results") -> dict[str, Any]:
    """The ``repro ceiling`` record in ``folder``, checked against the run it is shown beside: the same
    classifiers on the same test images, so each classifier alone scores exactly what the run measured."""
    import json

    path = Path(folder) / CEILING_FILE
    try:
        record = json.loads(path.read_text())
        test, ae_width = record["test"], float(record["ae_width"])
        alone, through = test["top1"][ALONE], test["top1"][PRETRAINED_AE]
        _ = record["pretrain"]["val_mse"], float(test["mse"])  # present, or the record is not one
    except FileNotFoundError:
        raise ReproError(f"--widths {folder}: no {CEILING_FILE} there (run `repro ceiling --out {folder}`)") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ReproError(f"--widths {folder}: {path} is not a record written by `repro ceiling` ({err})") from None
    _check_alone(f"--widths {folder}: {path}", alone, results,
                 "classifier sets differ" if set(alone) != set(through) else None)
    record["ae_width"] = ae_width
    return record


def read_ceiling_run(folder: str | Path, results: "Results") -> "Results":
    """The results.json of the both-halves diagnostic in ``folder`` (``repro report --ceiling``), checked
    against the run it is shown beside: the same classifiers alone and the same A_S (A_S∘i equal for every
    classifier both measured), since the ceiling is what fine-tuning can win back of that A_S's loss. An
    A_S of another protocol gives another bracket, and is refused naming the first difference."""
    path = Path(folder) / "results.json"
    if not path.is_file():
        raise ReproError(f"--ceiling {folder}: no results.json there (run `repro run --trainable both --out {folder}`)")
    ceiling = Results.from_json(path)
    source = f"--ceiling {folder}: {path}"
    _check_alone(source, ceiling.top1.get(ALONE, {}), results, None)
    theirs, ours = ceiling.top1.get(PRETRAINED_AE, {}), results.top1.get(PRETRAINED_AE, {})
    differ = _differing(theirs, ours)
    if differ:
        shown = ", ".join(f"A_S∘{k} {theirs[k]:.4f} vs {ours[k]:.4f}" for k in differ)
        raise ReproError(f"{source} fine-tuned another A_S than this run's ({shown}): a ceiling is read on the "
                         "A_S of the run it is shown beside")
    return ceiling


def read_width_run(folder: str | Path, results: "Results") -> "Results":
    """The results.json of a run in ``folder`` whose A_S has another width and whose AEs were fine-tuned
    against the same classifiers as ``results`` (``scripts/ceiling_width_finetune.sh``), checked as
    :func:`read_ceiling` checks a record: i alone scores exactly what the run measured. Its width is
    ``run_width(...)`` of the returned results."""

    path = Path(folder) / "results.json"
    if not path.is_file():
        raise ReproError(f"--width-runs {folder}: no results.json there (run `repro run --out {folder}`)")
    return check_width_run(Results.from_json(path), results, folder)


def check_width_run(run: "Results", results: "Results", folder: str | Path) -> "Results":
    """``run`` if it records its width and shares classifiers with ``results`` that score exactly the same
    alone (:func:`read_width_run`'s check); otherwise a ReproError naming ``folder``."""
    path = Path(folder) / "results.json"
    if run_width(run) is None:
        raise ReproError(f"--width-runs {folder}: {path} records no ae.width in its provenance")
    theirs, ours = run.top1.get(ALONE, {}), results.top1.get(ALONE, {})
    _check_alone(f"--width-runs {folder}: {path}", theirs, results,
                 None if any(k in ours for k in theirs) else "no classifier in common")
    return run


def _check_alone(source: str, alone: Mapping[str, float], results: "Results", mismatch: str | None) -> None:
    """The check shared by :func:`read_ceiling` and :func:`check_width_run`: every classifier that both
    measured scores alone exactly what ``results`` measured (the same model on the same test images), and
    ``mismatch`` (another reason the two do not match, or None) is None; otherwise a ReproError that
    starts with ``source`` and names the first reason."""
    ours = results.top1.get(ALONE, {})
    differ = _differing(alone, ours)
    if differ or mismatch:
        shown = ", ".join(f"{k} {alone[k]:.4f} vs {ours[k]:.4f}" for k in differ)
        raise ReproError(f"{source} was measured with other classifiers or test images than this run "
                         f"(i alone: {shown or mismatch})")


def _differing(theirs: Mapping[str, float], ours: Mapping[str, float]) -> list[str]:
    """The classifiers both measured whose accuracies are not the same number (the same model on the same
    images gives exactly the same).

    >>> _differing({"A": 0.5, "V": 0.7, "R": 0.6}, {"A": 0.5, "V": 0.71})
    ['V']
    """
    return [k for k in theirs if k in ours and not math.isclose(theirs[k], ours[k], rel_tol=0, abs_tol=1e-9)]


def run_width(results: "Results") -> float | None:
    """The SegNet width a run's provenance records (None when it records none).

    >>> from repro.results import Results
    >>> run_width(Results(source="cpu", classifiers=[], top1={}, raw={"provenance": {"config": {"ae": {"width": 1}}}}))
    1.0
    """
    width = results.recorded_config.get("ae", {}).get("width")
    return None if width is None else float(width)
