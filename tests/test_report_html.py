"""claims.html at a glance (issue 9, section 6) and the paper's sentences behind the claims."""

from __future__ import annotations

import html.parser
from pathlib import Path

import pytest

from repro.claims import CLAIMS, VERDICTS
from repro.claims.quotes import QUOTES, SECTIONS, normalised, sentences

PAPER_TEXT = Path(__file__).resolve().parents[2] / "shared" / "paper" / "paper-text.txt"
VOID = {"meta", "img", "br", "hr", "link"}


class _Page(html.parser.HTMLParser):
    """Checks that tags nest and close, and collects the verdict badges and claim blocks."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.claims, self.badges, self.scripts = [], [], {}, [], 0
        self._badge = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag not in VOID:
            self.stack.append(tag)
        cls = (attrs.get("class") or "").split()
        if tag == "div" and "claim" in cls:
            self.claims[attrs["id"]] = [c for c in cls if c.startswith("v-")]
        if tag == "span" and "badge" in cls:
            self._badge = cls

    def handle_data(self, data):
        if self._badge is not None:
            self.badges.append((self._badge, data))
            self._badge = None

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> inside {self.stack[-3:]}")
        else:
            self.stack.pop()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from tests.test_claims import synthetic
    from repro.report import build_report

    out = tmp_path_factory.mktemp("report")
    payload = build_report(synthetic(n=500), out, resamples=30)
    parser = _Page()
    text = (out / "claims.html").read_text()
    parser.feed(text)
    return parser, payload, text


def test_html_is_well_formed_and_self_contained(page):
    parser, _, text = page
    assert not parser.errors and parser.stack == []
    assert parser.scripts == 0 and "http://" not in text and "https://" not in text


def test_every_claim_is_colour_coded_by_its_verdict(page):
    parser, payload, _ = page
    for c in payload["claims"]:
        assert parser.claims[c["id"]] == ["v-" + c["verdict"].replace(" ", "-")], c["id"]
    # The one-line count at the top: one badge per verdict, with the right number.
    top = [(cls, text) for cls, text in parser.badges[: len(VERDICTS)]]
    for (cls, text), verdict in zip(top, VERDICTS):
        assert "v-" + verdict.replace(" ", "-") in cls and text == f"{payload['counts'][verdict]} {verdict}"
    assert sum(payload["counts"].values()) == len(CLAIMS)


def test_claims_are_grouped_by_section_with_the_paper_sentence_first(page):
    _, payload, text = page
    positions = [text.index(f"<h2>Claims: {title}</h2>") for sec, title in SECTIONS.items()
                 if any(c["section"] == sec for c in payload["claims"])]
    assert positions == sorted(positions)
    block = text[text.index("id='fca.t09_av_r'"):]
    quote, statement = block.index("<blockquote>"), block.index(CLAIMS["fca.t09_av_r"].statement.split(":")[0])
    assert quote < statement


def test_every_claim_has_the_paper_sentence():
    # nmi.py's claims are another session's; their sentences are here too.
    assert set(CLAIMS) <= set(QUOTES), sorted(set(CLAIMS) - set(QUOTES))


@pytest.mark.skipif(not PAPER_TEXT.is_file(), reason="the paper's extracted text is not beside the repository")
def test_quotes_are_verbatim():
    text = normalised(PAPER_TEXT.read_text())
    missing = [cid for cid, quote in QUOTES.items() for s in sentences(quote) if normalised(s) not in text]
    assert not missing
