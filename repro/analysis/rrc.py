"""Relative rate of change, RRC (Sec. 3.4 of the paper).

RRC(A_i∘j) = acc(A_i∘j) / min(acc(i), acc(j)): how much of the weaker model's accuracy classifier j
keeps when it sees the reconstructions of the autoencoder A_i fine-tuned on classifier i. Whether acc(i)
is the classifier alone or A_i∘i is left open by the paper; this function takes both accuracy vectors
explicitly and leaves that choice to the caller (see :mod:`repro.grid`).
"""

from __future__ import annotations

import numpy as np


def _as_vector(name: str, values: np.ndarray, length: int) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.shape[0] != length:
        raise ValueError(f"rrc: {name} must be a vector of length {length}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"rrc: {name} has non-finite values: {arr.tolist()}")
    if np.any(arr <= 0):
        raise ValueError(f"rrc: {name} must be positive (accuracy 0 or below makes RRC undefined): {arr.tolist()}")
    return arr


def rrc(grid: np.ndarray, row_acc: np.ndarray, col_acc: np.ndarray) -> np.ndarray:
    """``grid[i, j] / min(row_acc[i], col_acc[j])`` for AEs ``i`` (rows) and classifiers ``j`` (columns).

    ``grid[i, j]`` is acc(A_i∘j); ``row_acc[i]`` is acc(i) for the classifier A_i was fine-tuned on and
    ``col_acc[j]`` is acc(j). Any unit works (fractions or percent) as long as it is the same for all three.

    >>> grid = np.array([[0.8, 0.2], [0.4, 0.5]])
    >>> rrc(grid, np.diag(grid), np.diag(grid)).round(2).tolist()
    [[1.0, 0.4], [0.8, 1.0]]
    >>> rrc(grid, np.array([0.8, 0.0]), np.diag(grid))
    Traceback (most recent call last):
    ...
    ValueError: rrc: row_acc must be positive (accuracy 0 or below makes RRC undefined): [0.8, 0.0]
    """
    g = np.asarray(grid, dtype=float)
    if g.ndim != 2:
        raise ValueError(f"rrc: grid must be 2-D (AEs x classifiers), got shape {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError("rrc: grid has non-finite values")
    if np.any(g < 0):
        raise ValueError("rrc: grid has negative accuracies")
    r = _as_vector("row_acc", row_acc, g.shape[0])
    c = _as_vector("col_acc", col_acc, g.shape[1])
    return g / np.minimum(r[:, None], c[None, :])
