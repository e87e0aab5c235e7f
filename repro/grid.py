"""The cross-accuracy grid acc(A_i∘j) (Table 2) and the two readings of RRC (Sec. 3.4).

A :class:`CrossGrid` is what ``repro analyze`` reads from a user's CSV and what claim checks build from
a :class:`repro.results.Results`. Rows are autoencoders, each named after the classifier it was
fine-tuned on; columns are classifiers.

The paper defines RRC(A_i∘j) = acc(A_i∘j) / min(acc(i), acc(j)) but does not say whether acc(i) is
the classifier alone or A_i∘i. Both readings are supported:

- ``"ae_diagonal"`` (default): acc(i) = acc(A_i∘i), the grid's diagonal. On the paper's Table 2 it
  gives the stated interval [0.17, 0.52] exactly and the upper end of [0.66, 0.84]; the reading
  ``"classifier_alone"`` gives [0.17, 0.55] and [0.64, 0.90]. The claims report prints both.
- ``"classifier_alone"``: acc(i) = the classifier's own accuracy (Table 1), given separately.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from repro.errors import ReproError
from repro.analysis.rrc import rrc

RRC_READINGS = ("ae_diagonal", "classifier_alone")
DEFAULT_READING = "ae_diagonal"


@dataclass(frozen=True)
class CrossGrid:
    """acc(A_i∘j) with ``aes[i]`` the classifier AE i was fine-tuned on and ``classifiers[j]`` a classifier.

    >>> g = CrossGrid(("X", "Y"), ("X", "Y"), np.array([[0.8, 0.2], [0.4, 0.5]]))
    >>> g.rrc().round(2).tolist()
    [[1.0, 0.4], [0.8, 1.0]]
    """

    aes: tuple[str, ...]
    classifiers: tuple[str, ...]
    values: np.ndarray
    classifier_acc: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=float)
        if values.shape != (len(self.aes), len(self.classifiers)):
            raise ValueError(f"grid of shape {values.shape} for {len(self.aes)} AEs x {len(self.classifiers)} classifiers")
        object.__setattr__(self, "values", values)

    def ae_labels(self) -> list[str]:
        return [f"A_{a}" for a in self.aes]

    def accuracies(self, reading: str = DEFAULT_READING) -> tuple[np.ndarray, np.ndarray]:
        """acc(i) for each row and acc(j) for each column under ``reading``.

        Raises :class:`ReproError` naming the classifier whose accuracy nobody gave.
        """
        if reading == "ae_diagonal":
            def acc_of(name: str) -> float:
                if name not in self.aes or name not in self.classifiers:
                    raise ReproError(
                        f"classifier {name!r} needs acc(A_{name}∘{name}) for the 'ae_diagonal' RRC reading, "
                        f"but the grid has no {'row' if name not in self.aes else 'column'} {name!r}; "
                        "add it or use --reading classifier_alone with --acc"
                    )
                return float(self.values[self.aes.index(name), self.classifiers.index(name)])
        elif reading == "classifier_alone":
            def acc_of(name: str) -> float:
                if name not in self.classifier_acc:
                    raise ReproError(
                        f"classifier {name!r} needs its own accuracy for the 'classifier_alone' RRC reading; "
                        "give it in the --acc file: 'classifier,accuracy' lines (fractions) or the paper's "
                        "Table 1 layout 'classifier,setting,top1,...' with a 'none' row (top-1 in percent)"
                    )
                return float(self.classifier_acc[name])
        else:
            raise ReproError(f"unknown RRC reading {reading!r}; choose one of {', '.join(RRC_READINGS)}")
        return np.array([acc_of(a) for a in self.aes]), np.array([acc_of(c) for c in self.classifiers])

    def rrc(self, reading: str = DEFAULT_READING) -> np.ndarray:

        row_acc, col_acc = self.accuracies(reading)
        try:
            return rrc(self.values, row_acc, col_acc)
        except ValueError as err:
            raise ReproError(f"RRC ({reading} reading): {err}") from None


def _parse_fraction(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ReproError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ReproError(f"{where}: {text!r} is outside [0, 1] (accuracies are fractions, e.g. 0.7163)")
    return value


def read_csv_rows(path: Path) -> list[list[str]]:
    """A CSV file's non-empty rows, each cell stripped; a missing, unreadable or empty file is a one-line
    :class:`ReproError` naming it (the reader of every CSV input: grids, accuracies, Table 1)."""
    try:
        with path.open(newline="") as fh:
            rows = [[cell.strip() for cell in row] for row in csv.reader(fh)]
    except FileNotFoundError:
        raise ReproError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ReproError(f"{path}: is a folder; give the CSV file itself") from None
    except OSError as err:
        raise ReproError(f"{path}: cannot read it ({err.strerror or err})") from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise ReproError(f"{path}: not a readable CSV file ({err})") from None
    rows = [r for r in rows if any(r)]
    if not rows:
        raise ReproError(f"{path}: empty file; expected a header line and one line per row")
    return rows


def _check_names(names: list[str], what: str, where: str) -> None:
    seen: set[str] = set()
    for name in names:
        if not name:
            raise ReproError(f"{where}: empty {what} name")
        if name in seen:
            raise ReproError(f"{where}: {what} {name!r} appears twice")
        seen.add(name)


def read_accuracies(path: str | Path) -> dict[str, float]:
    """Read ``classifier,accuracy`` lines (a header line is required)."""
    path = Path(path)
    rows = read_csv_rows(path)
    header = [h.lower() for h in rows[0]]
    if header != ["classifier", "accuracy"]:
        raise ReproError(f"{path}:1: header must be 'classifier,accuracy', found {','.join(rows[0])!r}")
    acc: dict[str, float] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        where = f"{path}:{lineno}"
        if len(row) != 2:
            raise ReproError(f"{where}: expected 2 fields (classifier,accuracy), found {len(row)}")
        _check_names([*acc, row[0]], "classifier", where)
        acc[row[0]] = _parse_fraction(row[1], where)
    if not acc:
        raise ReproError(f"{path}: no accuracies after the header")
    return acc


def read_grid(path: str | Path, acc: dict[str, float] | None = None, acc_path: str | Path | None = None) -> CrossGrid:
    """Read a grid CSV: header ``ae,<classifier>,...`` then one row per AE (named after its classifier).

    ``acc`` (from :func:`read_accuracies`) must name only classifiers of the grid.
    """
    path = Path(path)
    rows = read_csv_rows(path)
    header = rows[0]
    if not header or header[0].lower() != "ae":
        raise ReproError(f"{path}:1: header must start with 'ae', then the classifier names")
    classifiers = header[1:]
    if not classifiers:
        raise ReproError(f"{path}:1: header names no classifier")
    _check_names(classifiers, "classifier", f"{path}:1")
    aes: list[str] = []
    values = []
    for lineno, row in enumerate(rows[1:], start=2):
        where = f"{path}:{lineno}"
        if len(row) != len(header):
            raise ReproError(f"{where}: expected {len(header)} fields like the header, found {len(row)}")
        name = row[0][2:] if row[0].startswith("A_") else row[0]
        aes.append(name)
        _check_names(aes, "AE", where)
        values.append([_parse_fraction(v, f"{where} ({classifiers[k]})") for k, v in enumerate(row[1:])])
    if not aes:
        raise ReproError(f"{path}: no AE rows after the header")
    acc = dict(acc or {})
    unknown = sorted(set(acc) - set(classifiers) - set(aes))
    if unknown:
        raise ReproError(f"{acc_path or 'accuracies'}: {', '.join(map(repr, unknown))} not in the grid {path}")
    return CrossGrid(tuple(aes), tuple(classifiers), np.array(values), acc)
