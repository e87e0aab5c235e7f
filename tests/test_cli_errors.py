"""Bad input to ``repro analyze`` and ``repro report`` is one line on stderr and exit status 2, never a
traceback (issue 10, item 6); ``python -m repro`` and ``repro --version`` (item 8)."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro import cli
from repro.errors import ReproError
from repro.results import Results, encode_bits, read_results_json
from repro.schema import check_results

ROOT = Path(__file__).resolve().parents[1]
TABLE2 = ROOT / "paper_claims" / "data" / "table2.csv"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, err)


@pytest.fixture
def grid_csv(tmp_path) -> Path:
    path = tmp_path / "grid.csv"
    path.write_text("ae,L,A\nL,0.5,0.2\nA,0.2,0.5\n")
    return path


# --- analyze ----------------------------------------------------------------------------------------


def test_analyze_a_folder(capsys, tmp_path):
    code, _, err = run_cli(capsys, "analyze", tmp_path)
    assert_one_line_error(code, err, str(tmp_path), "folder")


def test_analyze_acc_a_folder(capsys, tmp_path, grid_csv):
    code, _, err = run_cli(capsys, "analyze", grid_csv, "--acc", tmp_path)
    assert_one_line_error(code, err, str(tmp_path), "folder")


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_out_is_an_existing_file(capsys, tmp_path, grid_csv, command):
    target = tmp_path / "file.txt"
    target.write_text("x")
    args = [grid_csv, "--out", target] if command == "analyze" else ["--out", target]
    code, _, err = run_cli(capsys, command, *args)
    assert_one_line_error(code, err, "--out", str(target), "is a file")
    assert target.read_text() == "x"


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_out_below_a_file(capsys, tmp_path, grid_csv, command):
    (tmp_path / "file.txt").write_text("x")
    target = tmp_path / "file.txt" / "sub"
    args = [grid_csv, "--out", target] if command == "analyze" else ["--paper", "--out", target]
    code, _, err = run_cli(capsys, command, *args)
    assert_one_line_error(code, err, "--out", str(target), "cannot write")


@pytest.mark.skipif(IS_ROOT, reason="root writes into write-protected folders")
@pytest.mark.parametrize("command", ["analyze", "report"])
def test_out_write_protected(capsys, tmp_path, grid_csv, command):
    target = tmp_path / "locked"
    target.mkdir()
    target.chmod(0o555)
    try:
        args = [grid_csv, "--out", target] if command == "analyze" else ["--paper", "--out", target]
        code, _, err = run_cli(capsys, command, *args)
    finally:
        target.chmod(0o755)
    assert_one_line_error(code, err, "--out", str(target), "cannot write")


@pytest.mark.parametrize("command", ["analyze", "report"])
def test_out_not_writable_for_any_reason(capsys, tmp_path, grid_csv, command, monkeypatch):
    """What a write-protected folder or a read-only mount does to the probe (also when run as root)."""
    import repro.paths

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(repro.paths.tempfile, "TemporaryFile", refuse)
    target = tmp_path / "out"
    args = [grid_csv, "--out", target] if command == "analyze" else ["--paper", "--out", target]
    code, _, err = run_cli(capsys, command, *args)
    assert_one_line_error(code, err, "--out", str(target), "Permission denied")


def test_json_into_a_closed_pipe():
    """`repro analyze ... --json | head`: the reader leaves early; no traceback (Python's SIGPIPE recipe)."""
    proc = subprocess.Popen([sys.executable, "-m", "repro", "analyze", str(TABLE2), "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the child writes anything
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err.decode() and "BrokenPipe" not in err.decode(), err.decode()
    assert proc.returncode == 1


# --- report and results.json ------------------------------------------------------------------------

KEYS = ["L", "V"]


def valid_results(n: int = 10) -> dict:
    top1 = {"none": {"L": 0.6, "V": 0.7}, "A_S": {"L": 0.5, "V": 0.6}, "A_L": {"L": 0.55, "V": 0.4},
            "A_V": {"L": 0.3, "V": 0.65}}
    bits = encode_bits([True, False] * (n // 2))
    return {"schema_version": 1, "scale": "smoke", "classifiers": KEYS, "n_test": n,
            "accuracy": {"top1": top1, "top5": copy.deepcopy(top1)},
            "per_image": {"encoding": "base64", "top1": {ae: {c: bits for c in KEYS} for ae in top1}}}


def broken(edit) -> dict:
    data = valid_results()
    edit(data)
    return data


BAD_RESULTS = [
    ([], "top level"),
    (None, "top level"),
    ("results", "top level"),
    (broken(lambda d: d["accuracy"]["top1"]["A_S"].pop("V")), "accuracy.top1.A_S"),
    (broken(lambda d: d["accuracy"]["top1"]["A_S"].__setitem__("V", "x")), 'accuracy.top1.A_S.V: expected a number in [0, 1], got "x"'),
    (broken(lambda d: d["accuracy"]["top1"]["none"].__setitem__("L", 1.5)), "accuracy.top1.none.L"),
    (broken(lambda d: d["accuracy"]["top5"]["A_L"].__setitem__("L", -0.1)), "accuracy.top5.A_L.L"),
    (broken(lambda d: d["accuracy"]["top1"]["A_L"].__setitem__("X", 0.1)), "accuracy.top1.A_L.X"),
    (broken(lambda d: d["accuracy"].__setitem__("top1", [])), "accuracy.top1"),
    (broken(lambda d: d.pop("accuracy")), "accuracy"),
    (broken(lambda d: d.pop("n_test")), "n_test"),
    (broken(lambda d: d.__setitem__("n_test", "10")), "n_test"),
    (broken(lambda d: d.__setitem__("classifiers", [])), "classifiers"),
    (broken(lambda d: d.__setitem__("classifiers", "LV")), "classifiers"),
    (broken(lambda d: d.__setitem__("schema_version", 99)), "schema_version"),
    (broken(lambda d: d.__setitem__("schema_version", "1")), "schema_version"),
    (broken(lambda d: d["per_image"]["top1"]["A_S"].__setitem__("L", "!!not base64!!")), "per_image.top1.A_S.L"),
    (broken(lambda d: d["per_image"]["top1"]["A_S"].__setitem__("L", 7)), "per_image.top1.A_S.L"),
    (broken(lambda d: d["per_image"]["top1"]["A_S"].__setitem__("L", encode_bits([True] * 40))), "per_image.top1.A_S.L"),
    (broken(lambda d: d["per_image"].pop("top1")), "per_image.top1"),
    (broken(lambda d: d["per_image"].__setitem__("top5", {"A_S": {"V": "%%%"}})), "per_image.top5.A_S.V"),
    (broken(lambda d: d.__setitem__("noise", {"levels": [0, 0.5], "top1": {"none": {"L": [0.5, "x"]}}})), "noise.top1.none.L[1]"),
    (broken(lambda d: d.__setitem__("noise", {"levels": [0, 0.5], "top1": {"none": {"L": [0.5]}}})), "noise.top1.none.L"),
    (broken(lambda d: d.__setitem__("nmi", {"intra": {"arithmetic": {"A_S": "high"}}})), "nmi.intra.arithmetic.A_S"),
    (broken(lambda d: d.__setitem__("lab", [])), "lab"),
    (broken(lambda d: d.__setitem__("figures", ["a.png"])), "figures"),
]


@pytest.mark.parametrize("data, needle", BAD_RESULTS)
def test_report_refuses_a_malformed_results_json(capsys, tmp_path, data, needle):
    (tmp_path / "results.json").write_text(json.dumps(data))
    code, _, err = run_cli(capsys, "report", "--out", tmp_path)
    assert_one_line_error(code, err, str(tmp_path / "results.json"), needle)
    assert not (tmp_path / "claims.md").exists()


def test_report_on_a_folder_named_results_json(capsys, tmp_path):
    (tmp_path / "results.json").mkdir()
    code, _, err = run_cli(capsys, "report", "--out", tmp_path)
    assert_one_line_error(code, err, "results.json")


def test_valid_results_pass_and_unknown_sections_are_tolerated():
    data = valid_results()
    # Fields a newer writer may add: unknown sections, encoded per-image data inside the optional ones.
    data["noise"] = {"levels": [0.0, 0.5], "clamp": True, "seed": 0, "top1": {"none": {"L": [0.6, 0.2]}},
                     "per_image": {"none": {"L": base64.b64encode(b"\x01").decode()}}}
    data["lab"] = {"A_S": {"mean_shift": {"L": 0.1, "a": -0.2, "b": 0.0}, "total_change": 3.0}}
    data["something_new"] = {"text": "anything"}
    data["nmi"] = {"bins": 64, "baseline_method": "pixel-shuffled pairs", "intra": {"arithmetic": {"A_S": 0.4}}}
    data["per_image"]["something_new"] = {"whatever": "text"}
    check_results(data)
    results = Results.from_dict(data)
    assert results.per_image["A_S"]["L"].tolist() == [True, False] * 5


def test_committed_results_pass_the_schema():
    path = ROOT / "artifacts" / "cpu" / "results.json"
    if not path.is_file():
        pytest.skip("no committed cpu run")
    check_results(read_results_json(path), str(path))


def test_schema_errors_name_the_json_path():
    data = broken(lambda d: d["accuracy"]["top1"]["A_S"].__setitem__("V", "x"))
    with pytest.raises(ReproError) as err:
        Results.from_dict(data, origin="results.json")
    assert str(err.value).startswith('results.json: accuracy.top1.A_S.V: expected a number in [0, 1], got "x"; ')
    assert "repro evaluate" in str(err.value)  # what to do


# --- python -m repro, --version ---------------------------------------------------------------------


def test_python_m_repro_and_version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        expected = version("repro")
    except PackageNotFoundError:
        from repro import __version__ as expected
    proc = subprocess.run([sys.executable, "-m", "repro", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"repro {expected}", proc.stderr
    proc = subprocess.run([sys.executable, "-m", "repro", "analyze", str(TABLE2), "--json"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "rrc" in json.loads(proc.stdout), proc.stderr


def test_repro_report_takes_the_run_folder_as_its_argument(tmp_path, capsys):
    """`repro report DIR` reads and writes DIR, as `--out DIR` does; neither, or two folders, is one line."""
    import shutil

    from repro.cli import main

    run = Path(__file__).resolve().parents[1] / "artifacts" / "cpu-protocol1"
    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("claims.*", "figures"))
    assert main(["report", str(copy)]) == 0
    assert (copy / "claims.md").read_bytes() == (run / "claims.md").read_bytes()
    assert main(["report"]) == 2
    assert "give the run folder that holds results.json: repro report DIR" in capsys.readouterr().err
    assert main(["report", str(copy), "--out", str(tmp_path / "other")]) == 2
    assert "two folders" in capsys.readouterr().err
