"""The committed cpu report is what the committed results.json gives (issue 5): rebuilt, unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "artifacts" / "cpu"


@pytest.mark.skipif(not (RUN / "results.json").is_file(), reason="no committed cpu results (artifacts/cpu/results.json)")
def test_rebuilt_report_equals_committed(tmp_path):
    from repro.paper import paper_results
    from repro.report import build_report
    from repro.results import Results

    copy = tmp_path / "cpu"
    shutil.copytree(RUN, copy, ignore=shutil.ignore_patterns("ckpt", "cache", "claims.*"))
    build_report(Results.from_json(copy / "results.json"), copy, paper=paper_results())
    for name in ("claims.md", "claims.json", "claims.html"):
        assert (copy / name).read_bytes() == (RUN / name).read_bytes(), f"{name} differs from the committed one"
