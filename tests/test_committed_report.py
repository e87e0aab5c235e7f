"""The committed reports are what their committed results.json give: rebuilt with the command the
README pairs with each (`repro report --out DIR [--previous DIR] [--ceiling DIR] [--widths DIR...
[--width-runs DIR...]] [--calibration DIR]`), byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

# folder -> the options its committed report was built with (folders relative to artifacts/)
COMMITTED = {
    "cpu-protocol1": {},
    # artifacts/cpu-protocol2/README.md's command: the diagnostics measured on its A_S beside it
    "cpu-protocol2": {"previous": "cpu-protocol1", "ceiling": "cpu-ceiling", "widths": ["cpu-width/w0.5", "cpu-width/w1.0"],
                      "width_runs": ["cpu-width/w1.0-finetune"], "calibration": "instrument"},
    # scripts/cpu_report.sh's options
    "cpu": {"previous": "cpu-protocol2", "calibration": "instrument"},
}


@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_rebuilt_report_equals_committed(name, tmp_path):
    from repro.cli import main

    run = ARTIFACTS / name
    if not (run / "results.json").is_file():
        pytest.skip(f"no committed results in artifacts/{name}")
    options = COMMITTED[name]
    copy = tmp_path / name
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("ckpt", "cache", "claims.*"))
    args = ["report", "--out", str(copy)]
    if "previous" in options:
        args += ["--previous", str(ARTIFACTS / options["previous"])]
    ceiling_dir = ARTIFACTS / options.get("ceiling", "-")
    if (ceiling_dir / "results.json").is_file():
        args += ["--ceiling", str(ceiling_dir)]
    widths = [ARTIFACTS / w for w in options.get("widths", [])]
    if widths and all((w / "ceiling.json").is_file() for w in widths):
        args += ["--widths", *map(str, widths)]
        runs = [ARTIFACTS / r for r in options.get("width_runs", [])]
        if runs and all((r / "results.json").is_file() for r in runs):
            args += ["--width-runs", *map(str, runs)]
    calibration = ARTIFACTS / options.get("calibration", "-")
    if (calibration / "w0.5-s32" / "calibration.json").is_file():
        args += ["--calibration", str(calibration)]
    assert main(args) == 0
    for file in ("claims.md", "claims.json", "claims.html"):
        assert (copy / file).read_bytes() == (run / file).read_bytes(), f"artifacts/{name}/{file} differs from a rebuild"
    assert json.loads((run / "claims.json").read_text())["claims"]


# The fine-tuning-seed replicates (scripts/replicates.sh): the report over the main run and two
# replicates, rebuilt with the script's last command from the repository root (the report names the
# runs as given), byte for byte; the current protocol's and the previous one's.
REPLICATES = {
    "cpu-replicates": ["artifacts/cpu", "artifacts/cpu-replicates/ft1", "artifacts/cpu-replicates/ft2"],
    "cpu-protocol2/replicates": ["artifacts/cpu-protocol2", "artifacts/cpu-protocol2/replicates/ft1",
                                 "artifacts/cpu-protocol2/replicates/ft2"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REPLICATES))
def test_rebuilt_replicates_report_equals_committed(name, tmp_path, monkeypatch):
    from repro.cli import main

    committed, runs = ARTIFACTS / name, REPLICATES[name]
    root = ARTIFACTS.parent
    if not all((root / d / "results.json").is_file() for d in runs) or not (committed / "claims.json").is_file():
        pytest.skip(f"no committed replicates report in artifacts/{name}")
    monkeypatch.chdir(root)
    out = tmp_path / name
    assert main(["report", "--runs", *runs, "--out", str(out)]) == 0
    for file in ("claims.md", "claims.json", "claims.html", "replicates.md", "replicates.json"):
        assert (out / file).read_bytes() == (committed / file).read_bytes(), f"artifacts/{name}/{file} differs from a rebuild"
