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


# --acc in Table 1's layout; --out writes what the command prints (issue 24, item 6)

PAPER_ACC = "classifier,accuracy\nL,0.323\nA,0.5496\nV,0.7135\nI,0.7712\nR,0.7402\n"  # Table 1's 'none' rows


def test_acc_in_table1_layout_equals_the_fractions(tmp_path):
    """The paper's table1.csv as --acc gives the same analysis as the same accuracies as fractions."""
    acc = tmp_path / "acc.csv"
    acc.write_text(PAPER_ACC)
    common = ["analyze", PAPER_DATA / "table2.csv", "--reading", "classifier_alone"]
    for extra in ([], ["--json"]):
        by_table1 = repro(*common, "--acc", PAPER_DATA / "table1.csv", *extra)
        by_fractions = repro(*common, "--acc", acc, *extra)
        assert by_table1.returncode == 0 and by_fractions.returncode == 0, by_table1.stderr + by_fractions.stderr
        assert by_table1.stdout == by_fractions.stdout
    # The intervals the README quotes for this reading on the paper's tables: [0.17, 0.55] and [0.64, 0.90].
    intervals = json.loads(by_table1.stdout)["intervals"]
    assert [0.168304, 0.550218] in intervals and [0.638402, 0.904658] in intervals


def test_table1_layout_reads_the_none_rows(tmp_path):
    from repro.paper import read_accuracy_file

    table1 = tmp_path / "t1.csv"
    table1.write_text("classifier,setting,top1,top1_diff,top5,top5_diff\n"
                      "X,none,80.00,,95.00,\nX,A_S,70.00,-10.00,90.00,-5.00\nX,A_i,85.00,+5.00,96.00,+1.00\n"
                      "Y,none,40.10,,60.00,\n")
    assert read_accuracy_file(table1) == {"X": 0.8, "Y": 0.401}


@pytest.mark.parametrize(
    "content, needle",
    [
        ("classifier,top1\nL,32.3\n", "{acc}:1: header must be 'classifier,accuracy' (fractions) or "
                                      "'classifier,setting,top1,top1_diff,top5,top5_diff' (Table 1, top-1 in percent), "
                                      "found 'classifier,top1'"),
        ("classifier,setting,top1,top1_diff,top5,top5_diff\nL,A_S,31.08,-1.22,53.01,-1.62\n",
         "{acc}: no row with setting 'none'"),
        ("classifier,setting,top1,top1_diff,top5,top5_diff\nL,none,132.3,,54.63,\n", "outside [0, 100]"),
        ("classifier,setting,top1,top1_diff,top5,top5_diff\nL,none,x,,54.63,\n", "{acc}:2: bad Table 1 line"),
    ],
)
def test_bad_acc_file_is_one_line(tmp_path, content, needle):
    acc = tmp_path / "acc.csv"
    acc.write_text(content)
    proc = repro("analyze", PAPER_DATA / "table2.csv", "--reading", "classifier_alone", "--acc", acc)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle.format(acc=acc) in lines[0], proc.stderr


def test_out_writes_what_the_command_prints(tmp_path):
    out = tmp_path / "analysis"
    args = ["analyze", PAPER_DATA / "table2.csv", "--thresholds", "0.2,0.9", "--out", out]
    proc = repro(*args)
    assert proc.returncode == 0, proc.stderr
    files = ["rrc.csv", "analysis.txt", "analysis.json", "rrc_sorted.png", "lattice_t0.2.png", "lattice_t0.9.png"]
    assert all((out / f).is_file() for f in files)
    assert proc.stdout.splitlines()[-1] == f"wrote 6 files to {out}: {', '.join(files)}"
    assert proc.stdout.startswith((out / "analysis.txt").read_text())  # the tables as printed, then the line above

    as_json = repro(*args, "--json")  # --json with --out: stdout stays one JSON object, the note goes to stderr
    assert as_json.returncode == 0, as_json.stderr
    assert (out / "analysis.json").read_text() == as_json.stdout
    assert json.loads(as_json.stdout) == json.loads(repro(*args[:-2], "--json").stdout)
    assert f"wrote 6 files to {out}" in as_json.stderr

    rrc = json.loads(as_json.stdout)["rrc"]
    lines = (out / "rrc.csv").read_text().splitlines()
    assert lines[0] == "ae,L,A,V,I,R"
    assert lines[3].split(",")[0] == "A_V" and float(lines[3].split(",")[5]) == rrc["A_V"]["R"]
