"""Every command in the README and docs/ runs as written, and every count they quote is the report's (issue 24).

Commands are taken from ```console blocks (lines starting with "$ ") and from inline code that starts with
`repro`, `.venv/bin/repro`, `bash scripts/`, `python -m repro` or `pytest`. Each `repro` command must parse
with the CLI's own parser (placeholders such as DIR are strings to it); the cheap ones (analyze, models,
calibrate-table without --out, --version) are run. A script must exist, a module must import, a pytest
marker must be declared. The counts of verdicts between markers are checked against the committed reports
(repro.documented_counts), and the analysis suite's expected failures against the committed analysis report.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from repro.cli import build_parser, main
from repro.documented_counts import MARKER, sync

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "HELPERS.md")]
PREFIXES = ("repro ", ".venv/bin/repro ", "bash scripts/", "python -m repro", "pytest ")
CHEAP = ("analyze", "models", "calibrate-table", "--version")


def commands(text: str) -> list[str]:
    """The commands a page shows.

    >>> commands("run `repro models --scale smoke` or\\n```console\\n$ bash scripts/env.sh\\n```")
    ['bash scripts/env.sh', 'repro models --scale smoke']
    """
    found = [ln[2:].strip() for block in re.findall(r"```console\n(.*?)```", text, re.S)
             for ln in block.splitlines() if ln.startswith("$ ")]
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    found += [c.strip() for c in re.findall(r"`([^`\n]+)`", text) if c.startswith(PREFIXES)]
    return found


def documented() -> list[tuple[str, str]]:
    return sorted({(p.relative_to(ROOT).as_posix(), c) for p in DOCS for c in commands(p.read_text())})


def _argv(command: str) -> list[str]:
    words = shlex.split(command.split(" #")[0])
    return words[1:]


@pytest.mark.parametrize("page,command", documented())
def test_a_documented_command_runs_as_written(page, command, tmp_path, monkeypatch):
    if command.startswith("bash scripts/"):
        assert (ROOT / command.split()[1]).is_file(), f"{page}: `{command}`: no such script"
    elif command.startswith("python -m repro"):
        module = command.split()[2]
        assert importlib.util.find_spec(module) is not None, f"{page}: `{command}`: no module {module}"
    elif command.startswith("pytest"):
        declared = {m.split(":")[0].strip() for m in
                    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]}
        words = _argv(command)
        for k, w in enumerate(words):
            if w == "-m":
                for marker in re.findall(r"[a-z_]+", words[k + 1]):
                    assert marker in declared | {"not", "or", "and"}, f"{page}: `{command}`: marker {marker}?"
        for w in words:
            if not w.startswith("-") and "/" in w or w in ("paper_claims", "tests"):
                assert (ROOT / w.split("::")[0]).exists(), f"{page}: `{command}`: no {w}"
    else:
        argv = _argv(command)
        if len(argv) == 1 and not argv[0].startswith("-"):
            argv = [argv[0], "--help"]  # a command named in a sentence: it exists and has help
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                build_parser().parse_args(argv)
            except SystemExit as exit_:
                assert exit_.code == 0, f"{page}: `{command}` does not parse: {err.getvalue().strip()}"
        if argv and argv[0] in CHEAP and "--out" not in argv:
            monkeypatch.chdir(ROOT)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exit_:
                    code = exit_.code
            assert code == 0, f"{page}: `{command}` failed: {err.getvalue().strip()}"


def test_the_pages_show_the_first_commands():
    """The README's first result (analyze the paper's table) and the smoke run are shown, and checked above."""
    shown = [c for page, c in documented() if page == "README.md"]
    assert any("repro analyze paper_claims/data/table2.csv" in c for c in shown)
    assert any("repro run --scale smoke" in c for c in shown)


@pytest.mark.parametrize("page", [p.relative_to(ROOT).as_posix() for p in DOCS])
def test_quoted_counts_are_the_reports(page):
    text = (ROOT / page).read_text()
    assert sync(text, ROOT) == text, (f"{page}: counts differ from the committed reports; "
                                      f"run: python -m repro.documented_counts {page}")


def test_every_count_in_the_readme_comes_from_a_report():
    """No verdict count outside a marker: a hand-written "14 hold" cannot drift from the report again."""
    text = MARKER.sub("", (ROOT / "README.md").read_text() + (ROOT / "docs" / "results.md").read_text())
    loose = re.findall(r"\b\d+ (?:of \d+ )?(?:claims )?(?:hold|holds|fail|fails|inconclusive)\b", text)
    assert loose == [], f"verdict counts written by hand: {loose}; put them between <!-- counts: DIR --> markers"


def test_the_analysis_suites_expected_failures_are_the_reports():
    """paper_claims/test_analysis.py's strict xfails are exactly the claims that fail in the committed analysis
    report, and every number its reasons quote is in that report (a reason once said 0.6357 for 0.6359)."""
    from paper_claims.test_analysis import PAPER_DISAGREES
    from repro.claims import CLAIMS

    report = json.loads((ROOT / "artifacts/analysis/claims.json").read_text())
    fails = {c["id"] for c in report["claims"] if c["verdict"] == "fails"}
    assert {c for c in PAPER_DISAGREES if c in CLAIMS} == fails
    md = (ROOT / "artifacts/analysis/claims.md").read_text()
    for cid, reason in PAPER_DISAGREES.items():
        for number in re.findall(r"\d+\.\d+", reason):
            assert number in md, f"{cid}: the reason quotes {number}, which the analysis report does not show"
