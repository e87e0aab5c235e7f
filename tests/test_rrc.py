"""RRC (Sec. 3.4): definition, validation and invariance under a common scale of all accuracies."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from repro.analysis.rrc import rrc

ACC = st.floats(0.001, 1.0, allow_nan=False)


@st.composite
def grids(draw):
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 6))
    # accuracies are counts over a test set (no subnormal floats, whose scaling loses precision)
    grid = draw(hnp.arrays(int, (n, m), elements=st.integers(0, 50_000))) / 50_000
    row = draw(hnp.arrays(float, n, elements=ACC))
    col = draw(hnp.arrays(float, m, elements=ACC))
    return grid, row, col


def test_definition_elementwise():
    grid = np.array([[0.5, 0.2, 0.1], [0.3, 0.6, 0.9]])
    row, col = np.array([0.5, 0.6]), np.array([0.4, 0.7, 0.8])
    out = rrc(grid, row, col)
    assert out.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert out[i, j] == pytest.approx(grid[i, j] / min(row[i], col[j]))


@settings(max_examples=60, deadline=None)
@given(grids(), st.floats(0.01, 100.0))
def test_scale_invariance(g, factor):
    grid, row, col = g
    np.testing.assert_allclose(rrc(grid * factor, row * factor, col * factor), rrc(grid, row, col), rtol=1e-12, atol=0)


@settings(max_examples=40, deadline=None)
@given(grids())
def test_diagonal_is_one_with_diagonal_accuracies(g):
    grid, _, _ = g
    k = min(grid.shape)
    sq = grid[:k, :k] + 0.01  # positive diagonal
    d = np.diag(sq)
    np.testing.assert_allclose(np.diag(rrc(sq, d, d)), 1.0)


@pytest.mark.parametrize(
    "grid,row,col,match",
    [
        (np.ones((2, 2)), np.array([1.0, np.nan]), np.ones(2), "row_acc has non-finite"),
        (np.ones((2, 2)), np.ones(2), np.array([1.0, np.inf]), "col_acc has non-finite"),
        (np.ones((2, 2)), np.array([1.0, -0.1]), np.ones(2), "row_acc must be positive"),
        (np.ones((2, 2)), np.ones(2), np.array([0.0, 1.0]), "col_acc must be positive"),
        (np.array([[1.0, np.nan], [1, 1]]), np.ones(2), np.ones(2), "grid has non-finite"),
        (np.array([[1.0, -1.0], [1, 1]]), np.ones(2), np.ones(2), "grid has negative"),
        (np.ones(4), np.ones(2), np.ones(2), "grid must be 2-D"),
        (np.ones((2, 3)), np.ones(2), np.ones(2), "col_acc must be a vector of length 3"),
        (np.ones((2, 3)), np.ones((2, 1)), np.ones(3), "row_acc must be a vector of length 2"),
    ],
)
def test_validation(grid, row, col, match):
    with pytest.raises(ValueError, match=match):
        rrc(grid, row, col)


def test_zero_cross_accuracy_is_allowed():
    assert rrc(np.array([[0.0]]), np.array([0.5]), np.array([0.5]))[0, 0] == 0.0
