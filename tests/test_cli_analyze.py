"""``repro analyze``: tables, JSON and clear one-line errors (run as a user would, in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPER_DATA = ROOT / "paper_claims" / "data"


def repro(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "repro.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True)


def test_json_on_paper_table2():
    proc = repro("analyze", PAPER_DATA / "table2.csv", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["rrc"]["A_V"]["R"] == pytest.approx(0.7300 / 0.7163, abs=1e-6)
    # Table 2 gives one context for 0.0925/0.5613 < t <= 0.1829/0.3484 (the paper's [0.17, 0.52]).
    assert any(lo and hi and lo == pytest.approx(0.0925 / 0.5613, abs=1e-6) and hi == pytest.approx(0.1829 / 0.3484, abs=1e-6)
               for lo, hi in out["intervals"])
    assert out["intervals"][0][0] is None and out["intervals"][-1][1] is None
    assert set(out["thresholds"]) == {"0.1", "0.2", "0.8", "0.9"}
    assert out["thresholds"]["0.2"]["chain"] is True
    concept = out["thresholds"]["0.9"]["concepts"][0]
    assert set(concept) >= {"extent", "intent"}


def test_tables_and_figures(tmp_path):
    proc = repro("analyze", PAPER_DATA / "table2.csv", "--thresholds", "0.3", "--out", tmp_path / "figs")
    assert proc.returncode == 0, proc.stderr
    assert "Stable intervals" in proc.stdout and "t = 0.3" in proc.stdout
    assert (tmp_path / "figs" / "rrc_sorted.png").is_file()
    assert (tmp_path / "figs" / "lattice_t0.3.png").is_file()


def test_alone_reading_with_acc(tmp_path):
    acc = tmp_path / "acc.csv"
    acc.write_text("classifier,accuracy\nL,0.323\nA,0.5496\nV,0.7135\nI,0.7712\nR,0.7402\n")
    proc = repro("analyze", PAPER_DATA / "table2.csv", "--acc", acc, "--reading", "classifier_alone", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rrc"]["A_V"]["L"] == pytest.approx(0.2929 / 0.323, abs=1e-6)


@pytest.mark.parametrize(
    "content, extra, needle",
    [
        ("ae,L,A\nL,0.3,1.5\n", [], "outside [0, 1]"),
        ("", [], "empty file"),
        ("ae,L,A\nL,0.3\n", [], "expected 3 fields"),
        ("ae,L,A\nL,0.3,0.2\nA,0.1,0.5\n", ["--reading", "classifier_alone"], "needs its own accuracy"),
        ("ae,L,A\nL,0.3,0.2\n", [], "needs acc(A_A∘A)"),
        ("ae,L,A\nL,0.3,0.2\nA,0.1,0.5\n", ["--reading", "both"], "unknown RRC reading"),
    ],
)
def test_bad_input_is_one_line(tmp_path, content, extra, needle):
    grid = tmp_path / "grid.csv"
    grid.write_text(content)
    proc = repro("analyze", grid, *extra)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_missing_file_and_bad_thresholds(tmp_path):
    proc = repro("analyze", tmp_path / "nope.csv")
    assert proc.returncode != 0 and "no such file" in proc.stderr and "Traceback" not in proc.stderr
    proc = repro("analyze", PAPER_DATA / "table2.csv", "--thresholds", "a,b")
    assert proc.returncode != 0 and "--thresholds" in proc.stderr and "Traceback" not in proc.stderr


def test_close_thresholds_keep_their_own_labels(tmp_path):
    """0.3999999 and 0.4000001 straddle an RRC of exactly 0.4: two thresholds, two labels, two contexts."""
    grid = tmp_path / "grid.csv"
    grid.write_text("ae,L,A\nL,0.5,0.2\nA,0.2,0.5\n")  # RRC(A_L∘A) = 0.2 / 0.5 = 0.4
    proc = repro("analyze", grid, "--thresholds", "0.3999999,0.4000001,0.4000001", "--json")
    assert proc.returncode == 0, proc.stderr
    thresholds = json.loads(proc.stdout)["thresholds"]
    assert list(thresholds) == ["0.3999999", "0.4000001"]  # the repeated one is analysed once
    assert thresholds["0.3999999"]["concepts"] != thresholds["0.4000001"]["concepts"]
    proc = repro("analyze", grid, "--thresholds", "0.3999999,0.4000001", "--out", tmp_path / "figs")
    assert proc.returncode == 0, proc.stderr
    assert "t = 0.3999999:" in proc.stdout and "t = 0.4000001:" in proc.stdout
    assert {p.name for p in (tmp_path / "figs").glob("lattice_t*.png")} == {"lattice_t0.3999999.png", "lattice_t0.4000001.png"}
