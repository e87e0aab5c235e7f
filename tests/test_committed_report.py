"""The committed reports are what their committed results.json give: rebuilt with the command the
README pairs with each (`repro report --out DIR [--previous DIR] [--ceiling DIR]`), byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

# folder -> the options its committed report was built with (folders relative to artifacts/)
COMMITTED = {
    "cpu-protocol1": {},
    "cpu": {"previous": "cpu-protocol1", "ceiling": "cpu-ceiling"},
}


@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_rebuilt_report_equals_committed(name, tmp_path):
    from repro.commands.report import _previous
    from repro.paper import paper_results
    from repro.report import build_report
    from repro.results import Results

    run = ARTIFACTS / name
    if not (run / "results.json").is_file():
        pytest.skip(f"no committed results in artifacts/{name}")
    options = COMMITTED[name]
    copy = tmp_path / name
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("ckpt", "cache", "claims.*"))
    previous = _previous(str(ARTIFACTS / options["previous"])) if "previous" in options else None
    ceiling_dir = ARTIFACTS / options.get("ceiling", "-")
    ceiling = Results.from_json(ceiling_dir / "results.json") if (ceiling_dir / "results.json").is_file() else None
    build_report(Results.from_json(copy / "results.json"), copy, paper=paper_results(), previous=previous,
                 ceiling=ceiling)
    for file in ("claims.md", "claims.json", "claims.html"):
        assert (copy / file).read_bytes() == (run / file).read_bytes(), f"artifacts/{name}/{file} differs from a rebuild"
    assert json.loads((run / "claims.json").read_text())["claims"]
