"""Figures of Sec. 3.4 render to PNG (Fig. 6 RRC curve, Fig. 7 Hasse diagrams)."""

import numpy as np
import pytest

from repro.figures import composition_label, plot_lattice, plot_rrc_curve
from repro.analysis.lattice import build_lattice, context_at, lattices_by_interval
from repro.analysis.rrc import rrc
from repro.paper import paper_table2

TABLE2 = paper_table2().values  # paper_claims/data/table2.csv
NAMES = ["L", "A", "V", "I", "R"]
AES = [f"A_{n}" for n in NAMES]
PNG = b"\x89PNG"


def table2_rrc():
    d = np.diag(TABLE2)
    return rrc(TABLE2, d, d)


def test_rrc_curve_png(tmp_path):
    fig = plot_rrc_curve(table2_rrc(), NAMES, NAMES, thresholds=(0.1, 0.2, 0.8, 0.9))
    out = tmp_path / "rrc.png"
    fig.savefig(out)
    assert out.read_bytes()[:4] == PNG
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    i, j = np.unravel_index(np.argmin(table2_rrc()), (5, 5))
    assert len(labels) == 25 and labels[0] == composition_label(NAMES[i], NAMES[j]) == "A_A∘V"  # smallest RRC


def test_rrc_curve_into_given_axes_and_shape_check(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    assert plot_rrc_curve(np.ones((2, 3)), ["X", "Y"], ["a", "b", "c"], ax=ax) is fig
    fig.savefig(tmp_path / "small.png")
    with pytest.raises(ValueError, match="2 AEs x 2 classifiers"):
        plot_rrc_curve(np.ones((2, 3)), ["X", "Y"], ["a", "b"])


@pytest.mark.parametrize("t", [0.1, 0.2, 0.8, 0.9])
def test_lattice_png_for_paper_thresholds(tmp_path, t):
    lat = build_lattice(context_at(table2_rrc(), t), NAMES, AES)
    fig = plot_lattice(lat, title=f"t = {t}")
    out = tmp_path / f"lattice_{t}.png"
    fig.savefig(out)
    assert out.read_bytes()[:4] == PNG
    texts = [t.get_text() for t in fig.axes[0].texts]
    for name in NAMES + AES:  # reduced labelling: every name appears once
        assert sum(name in s.replace(",", " ").split() for s in texts) == 1, (name, texts)


def test_lattice_labels_objects_above_attributes_below():
    lat = build_lattice(np.array([[1, 0], [0, 1], [1, 1]], bool), ["a", "b", "c"], ["x", "y"])
    fig = plot_lattice(lat)
    above = {t.get_text() for t in fig.axes[0].texts if t.get_va() == "bottom"}
    below = {t.get_text() for t in fig.axes[0].texts if t.get_va() == "top"}
    assert above == {"a", "b", "c"} and below == {"x", "y"}


def test_large_lattice_and_all_intervals_render(tmp_path):
    inc = np.random.default_rng(0).random((8, 8)) < 0.5
    lat = build_lattice(inc, [f"C{k}" for k in range(8)], [f"A_{k}" for k in range(8)])
    assert len(lat) >= 20
    plot_lattice(lat).savefig(tmp_path / "big.png")
    for k, (_, sub) in enumerate(lattices_by_interval(table2_rrc(), AES, NAMES)[:4]):
        plot_lattice(sub).savefig(tmp_path / f"iv{k}.png")
