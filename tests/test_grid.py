"""Reading users' grids (repro.grid) and the two RRC readings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from repro.errors import ReproError
from repro.grid import CrossGrid, read_accuracies, read_grid

PAPER_DATA = Path(__file__).resolve().parents[1] / "paper_claims" / "data"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_paper_table2():
    grid = read_grid(PAPER_DATA / "table2.csv")
    assert grid.aes == ("L", "A", "V", "I", "R") == grid.classifiers
    assert grid.values[2, 3] == pytest.approx(0.74)
    assert np.allclose(np.diag(grid.rrc()), 1.0)


def test_readings_differ_and_alone_needs_acc():
    g = CrossGrid(("X", "Y"), ("X", "Y"), np.array([[0.6, 0.3], [0.2, 0.5]]), {"X": 0.8, "Y": 0.4})
    assert g.rrc("ae_diagonal")[0, 1] == pytest.approx(0.3 / 0.5)
    assert g.rrc("classifier_alone")[0, 1] == pytest.approx(0.3 / 0.4)
    with pytest.raises(ReproError, match="'Y' needs its own accuracy"):
        CrossGrid(("X", "Y"), ("X", "Y"), g.values, {"X": 0.8}).rrc("classifier_alone")
    with pytest.raises(ReproError, match="unknown RRC reading"):
        g.rrc("nonsense")


def test_diagonal_reading_needs_own_row(tmp_path):
    path = write(tmp_path, "g.csv", "ae,X,Y\nA_X,0.5,0.4\n")
    with pytest.raises(ReproError, match="'Y' needs acc\\(A_Y∘Y\\)"):
        read_grid(path).rrc()


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ("ae,X,Y\n", "no AE rows"),
        ("name,X\nX,0.5\n", "header must start with 'ae'"),
        ("ae,X,Y\nX,0.5\n", ":2: expected 3 fields"),
        ("ae,X,Y\nX,0.5,1.2\n", ":2 \\(Y\\): '1.2' is outside \\[0, 1\\]"),
        ("ae,X,Y\nX,0.5,abc\n", "'abc' is not a number"),
        ("ae,X,X\nX,0.5,0.5\n", "classifier 'X' appears twice"),
        ("ae,X,Y\nX,0.5,0.5\nA_X,0.5,0.5\n", ":3: AE 'X' appears twice"),
        ("ae,X\nX,nan\n", "outside \\[0, 1\\]"),
    ],
)
def test_bad_grids_name_file_and_line(tmp_path, text, message):
    path = write(tmp_path, "grid.csv", text)
    with pytest.raises(ReproError, match=message) as err:
        read_grid(path)
    assert str(path) in str(err.value)


def test_accuracies_file(tmp_path):
    path = write(tmp_path, "acc.csv", "classifier,accuracy\nX,0.8\nY,0.4\n")
    assert read_accuracies(path) == {"X": 0.8, "Y": 0.4}
    bad = write(tmp_path, "bad.csv", "classifier,accuracy\nX,80\n")
    with pytest.raises(ReproError, match="bad.csv:2: '80' is outside"):
        read_accuracies(bad)
    grid = write(tmp_path, "g.csv", "ae,X\nX,0.5\n")
    with pytest.raises(ReproError, match="'Y' not in the grid"):
        read_grid(grid, read_accuracies(path), path)
    with pytest.raises(ReproError, match="no such file"):
        read_accuracies(tmp_path / "missing.csv")
