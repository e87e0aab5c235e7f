"""Session-wide fixtures of the claims suite: the paper's tables and the reports built from them."""

from __future__ import annotations

import pytest

from repro.paths import artifacts_dir


@pytest.fixture(scope="session")
def paper():
    from repro.paper import paper_results

    return paper_results()


@pytest.fixture(scope="session")
def analysis_report(paper):
    """The claims report on the paper's own tables, written to artifacts/analysis/."""
    from repro.report import build_report

    out = artifacts_dir("analysis")
    payload = build_report(paper, out, paper=paper)
    return out, payload
