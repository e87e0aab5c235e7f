"""The claims report: claims.md, claims.json and a self-contained claims.html (figures embedded).

Built from a :class:`repro.results.Results` alone (our results.json, or the paper's tables), so that
``repro report`` rebuilds it without rerunning anything. Output is deterministic: no timestamps, fixed
figure metadata, so a rebuilt report can be compared byte for byte with a committed one.

The report is a list of sections, each made by one builder in :data:`SECTION_BUILDERS` from a
:class:`ReportContext`. A builder returns :class:`Section` objects (markdown, and optionally its own
HTML; otherwise the HTML is rendered from the markdown) and may add figures and JSON entries to the
context. A new section is a new builder appended to the list.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tabulate import tabulate

from repro.budget_shares import REPORT_RESERVE_S
from repro.calibration import table as calibration_table
from repro.ceiling import run_width
from repro.claims import VERDICTS, Verdict, evaluate
from repro.claims import tolerances as tol
from repro.claims.consistency import paper_consistency
from repro.claims.core import NotMeasured, cross_grid, is_paper_tables
from repro.claims.instrument import notes as instrument_notes
from repro.claims.preconditions import PRECONDITIONS
from repro.claims.quotes import QUOTES, SECTIONS, sentences
from repro.figures import (
    PAPER_THRESHOLDS,
    lattice_figures,
    nmi_figure,
    noise_figure,
    plot_cross_transfer,
    plot_finetune_convergence,
    plot_grid_heatmaps,
    rrc_figure,
    save_figure,
)
from repro.config import fmt_duration
from repro.grid import DEFAULT_READING, RRC_READINGS
from repro.paths import write_text_atomic
from repro.results import ALONE, PRETRAINED_AE, Results, ae_name
from repro.vocabulary import PAPER_CLASSIFIERS
from repro.sections import (ReportContext, Section, fmt_interval, grid_rows, json_interval, md_table, pct,
                            table1_rows)
from repro.your_classifiers import HEADING as YOUR_CLASSIFIERS
from repro.your_classifiers import your_classifiers_section
from repro.analysis.lattice import build_lattice, context_at, stable_intervals
from repro.claims.cross import middle_intervals
from repro.replicates import replicates_markdown

PAPER_INTERVALS = ((0.17, 0.52), (0.66, 0.84))


# --- verdict formatting -------------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x:.4g}"


def quantities_text(v: Verdict) -> str:
    """Each tested quantity with its 95% interval, or why there is none."""
    parts = []
    for name, value in v.quantities.items():
        iv = v.intervals.get(name)
        parts.append(f"{name} {_num(value)}" + (f" [{_num(iv[0])}, {_num(iv[1])}]" if iv else ""))
    text = "; ".join(parts)
    if v.no_interval and v.verdict != "not measured":
        text = (text + "; " if text else "") + f"no interval: {v.no_interval}"
    return text


def support_text(v: Verdict) -> str:
    return "" if v.support is None else f"{v.support:.0%}"


def sort_by_section(verdicts: list[Verdict]) -> list[Verdict]:
    """In the order of the paper's sections (quotes.SECTIONS), registration order within one."""
    order = {s: k for k, s in enumerate(SECTIONS)}
    return sorted(verdicts, key=lambda v: order.get(v.section, len(order)))


def verdict_counts(verdicts: list[Verdict]) -> dict[str, int]:
    return {k: sum(v.verdict == k for v in verdicts) for k in VERDICTS}


# Scales whose verdicts test the machinery, not the paper, and what to say beside them.
MACHINERY_ONLY = {"smoke": "the smoke scale checks that the pipeline runs end to end on tiny data, its classifiers "
                           "near chance: its verdicts say nothing about the paper"}


def counts_text(counts: dict[str, int]) -> str:
    """
    >>> counts_text({"holds": 1, "fails": 23, "inconclusive": 14, "not measured": 2})
    '1 of 40 hold, 23 fail, 14 inconclusive, 2 not measured'
    """
    return (f"{counts.get('holds', 0)} of {sum(counts.values())} hold, {counts.get('fails', 0)} fail, "
            f"{counts.get('inconclusive', 0)} inconclusive, {counts.get('not measured', 0)} not measured")


def missing_paper_classifiers(classifiers: list[str]) -> list[str]:
    """The paper's five a run lacks: every claim about the five is then "not measured", whatever else ran.

    >>> missing_paper_classifiers(["L", "V", "mob"])
    ['A', 'I', 'R']
    """
    return [c for c in PAPER_CLASSIFIERS if c not in classifiers]


def missing_text(classifiers: list[str]) -> str:
    """Why a run's claims are not measured, in one clause ("" when it has the five).

    >>> missing_text(["L", "V", "mob"])
    "the paper's claims read its five classifiers L, A, V, I, R; this run has L, V, mob, without A, I, R"
    """
    missing = missing_paper_classifiers(classifiers)
    if not missing:
        return ""
    return (f"the paper's claims read its five classifiers {', '.join(PAPER_CLASSIFIERS)}; this run has "
            f"{', '.join(classifiers)}, without {', '.join(missing)}")


def outcome_line(payload: dict[str, Any], results: Results) -> str:
    """A written report's verdicts in one line, as `repro run` and `repro report` print them: the counts, why
    nothing is measured when the run lacks the paper's five, and what a machinery-only scale's verdicts mean."""
    why = "" if payload["source"] == "paper" else missing_text(results.classifiers)
    notes = [f"not measured because {why}; your classifiers' results: claims.md, section \"{YOUR_CLASSIFIERS}\""
             if why else "", MACHINERY_ONLY.get(payload["source"], "")]
    return counts_text(payload["counts"]) + "".join(f" ({n})" for n in notes if n)


def counts_line(verdicts: list[Verdict]) -> str:
    counts = verdict_counts(verdicts)
    return f"{len(verdicts)} claims: " + " · ".join(f"{n} {k}" for k, n in counts.items())


def summary_rows(verdicts: list[Verdict], instrument: dict[str, str] | None = None) -> list[list[str]]:
    """One row per claim; with ``instrument`` notes (:mod:`repro.claims.instrument`), a column saying what the
    run's instrument allows the claim, beside its verdict."""
    if not instrument:
        return [[v.id, v.section, v.verdict, support_text(v), v.ours] for v in verdicts]
    return [[v.id, v.section, v.verdict, _instrument_word(instrument.get(v.id)), support_text(v), v.ours]
            for v in verdicts]


SUMMARY_HEADERS = ["claim", "section", "verdict", "support", "ours"]


def summary_headers(instrument: dict[str, str] | None) -> list[str]:
    return SUMMARY_HEADERS if not instrument else ["claim", "section", "verdict", "instrument", "support", "ours"]


def _instrument_word(note: str | None) -> str:
    """
    >>> _instrument_word("beyond this instrument: ..."), _instrument_word(None)
    ('beyond this instrument', '')
    """
    return "" if not note else note.split(":", 1)[0]


def instrument_paragraph(instrument: dict[str, str]) -> str:
    """The summary's statement of what this run's instrument can decide (docs/instrument.md)."""
    if not instrument:
        return ""
    beyond = [c for c, n in instrument.items() if n.startswith("beyond")]
    parts = []
    if beyond:
        numbers = instrument[beyond[0]].split(", and ", 1)[1]
        parts.append(f"{', '.join(beyond)} need A_i∘i to reach i; this run's A_S costs more than the paper's "
                     f"largest (3.76 points) and no A_i∘i on it reaches i alone ({numbers}). Their verdicts say what "
                     "this scale measured, not whether the paper's claim holds.")
    calibrated = [c for c, n in instrument.items() if n.startswith("calibrated")]
    if calibrated:
        parts.append(f"{', '.join(calibrated)}: {instrument[calibrated[0]].split(': ', 1)[1]}.")
    return ("**What this instrument can decide** (docs/instrument.md; a statement beside the verdicts, whose rules "
            "are unchanged): " + " ".join(parts))

_RULES = (f"A claim **holds** when it holds on the measured numbers and in at least {tol.SUPPORT:.0%} of "
          f"{tol.BOOTSTRAP_RESAMPLES} bootstrap resamples of the test images (one-sided {tol.SUPPORT:.0%}), and "
          f"**fails** when it fails on both counts; otherwise, or when a declared precondition is not met, it is "
          "**inconclusive**. **Not measured**: the results lack what the claim speaks about (a section, or one of "
          "the five classifiers L, A, V, I, R; extra classifiers are never read). Intervals are two-sided 95% "
          "percentile intervals of each number the claim tests. Tolerances: `repro/claims/tolerances.py`; "
          "preconditions: `repro/claims/preconditions.py`.")


# --- the report's sections ----------------------------------------------------------------------


def _lacks_the_five(ctx: ReportContext) -> bool:
    """A run (not the paper's tables) without all of the paper's five classifiers: its report says why its
    claims are not measured first, shows its own classifiers next, and each unmeasured claim in one line."""
    return not ctx.is_paper and bool(missing_paper_classifiers(ctx.results.classifiers))


def _missing_note(ctx: ReportContext) -> str:
    """What a run without the paper's five says first: why its claims are not measured, and where its own
    results are (section "Your classifiers")."""
    if not _lacks_the_five(ctx):
        return ""
    why = missing_text(ctx.results.classifiers)
    n = sum(v.verdict == "not measured" for v in ctx.verdicts)
    mine = [c for c in ctx.results.classifiers if c not in PAPER_CLASSIFIERS]
    return (f"**{n} of {len(ctx.verdicts)} claims are not measured because {why}.** A claim about the five is "
            "never read from fewer. To check the paper's claims beside yours, run again with all five, e.g. "
            f"`--classifiers {','.join([*PAPER_CLASSIFIERS, *mine])}` (finished units are reused). "
            + (f"What this run measured for {', '.join(mine)} is in the section \"{YOUR_CLASSIFIERS}\" right "
               "below." if mine else ""))


def summary_section(ctx: ReportContext) -> list[Section]:
    counts = verdict_counts(ctx.verdicts)
    inst = instrument_paragraph(ctx.instrument)
    machinery = MACHINERY_ONLY.get(ctx.results.source)
    missing = _missing_note(ctx)
    md = (f"**{counts_line(ctx.verdicts)}**\n\n" + (f"{missing}\n\n" if missing else "")
          + (f"**Note**: {machinery}.\n\n" if machinery else "")
          + f"Source: **{ctx.results.source}**. RRC reading: `{DEFAULT_READING}` "
          f"(acc(i) = acc(A_i∘i)). {_RULES}\n\n" + (f"{inst}\n\n" if inst else "")
          + ("" if missing and counts["not measured"] == len(ctx.verdicts)  # 40 empty rows would say nothing more
             else md_table(summary_headers(ctx.instrument), summary_rows(ctx.verdicts, ctx.instrument))))
    badges = " ".join(f"<span class='badge {_vclass(k)}'>{n} {html.escape(k)}</span>" for k, n in counts.items())
    inst_cell = ((lambda v: f"<td>{html.escape(_instrument_word(ctx.instrument.get(v.id)))}</td>") if ctx.instrument
                 else (lambda v: ""))
    rows = "".join(
        f"<tr><td><a href='#{html.escape(v.id)}'>{html.escape(v.id)}</a></td><td>{html.escape(v.section)}</td>"
        f"<td class='{_vclass(v.verdict)}'>{html.escape(v.verdict)}</td>{inst_cell(v)}<td>{support_text(v)}</td>"
        f"<td>{html.escape(v.statement)}</td></tr>" for v in ctx.verdicts)
    body = (f"<p class='counts'><b>{len(ctx.verdicts)} claims:</b> {badges}</p>"
            + (f"<p>{_inline(missing)}</p>" if missing else "")
            + (f"<p><b>Note</b>: {html.escape(machinery)}.</p>" if machinery else "")
            + f"<p>Source: <b>{html.escape(ctx.results.source)}</b>. RRC reading: <code>{DEFAULT_READING}</code>. "
            f"{_inline(_RULES)}</p>" + (f"<p>{_inline(inst)}</p>" if inst else "")
            + "<table><thead><tr><th>claim</th><th>section</th><th>verdict</th>"
            + ("<th>instrument</th>" if ctx.instrument else "")
            + f"<th>support</th><th>statement</th></tr></thead><tbody>{rows}</tbody></table>")
    return [Section("Summary", md, body)]


def claims_section(ctx: ReportContext) -> list[Section]:
    """Every claim under its section of the paper, the paper's sentence first."""
    by_section: dict[str, list[Verdict]] = {}
    for v in ctx.verdicts:
        by_section.setdefault(v.section, []).append(v)
    order = [s for s in SECTIONS if s in by_section] + sorted(s for s in by_section if s not in SECTIONS)
    # Without the paper's five, a not-measured claim has nothing to show but its statement: one line each,
    # so that what the run did measure is not buried under 40 empty blocks.
    brief = _lacks_the_five(ctx)
    out = []
    for sec in order:
        md_parts, html_parts = [], []
        for v in by_section[sec]:
            if brief and v.verdict == "not measured":
                md_parts.append(f"- **{v.id}**: not measured. {v.statement}")
                html_parts.append(f"<p id='{html.escape(v.id)}'><span class='badge {_vclass(v.verdict)}'>not measured"
                                  f"</span> <code>{html.escape(v.id)}</code>: {html.escape(v.statement)}</p>")
                continue
            quote = QUOTES.get(v.id, "")
            lines = [("Claim", v.statement), ("Paper", v.paper), ("Ours", v.ours),
                     ("Instrument", ctx.instrument.get(v.id, "")), ("Tested", quantities_text(v)),
                     ("Support", support_text(v)), ("Tolerance", v.tolerance),
                     # "five" applies to every claim and is stated once, in the summary's rules.
                     ("Preconditions", "; ".join(PRECONDITIONS[p].requires for p in v.requires if p != "five")),
                     ("Why", v.detail)]
            lines = [(k, t) for k, t in lines if t]
            md_parts.append(f"#### {v.id}: {v.verdict}\n\n" + (f"> {quote}\n\n" if quote else "")
                            + "\n".join(f"- **{k}**: {t}" for k, t in lines))
            html_parts.append(
                f"<div class='claim {_vclass(v.verdict)}' id='{html.escape(v.id)}'>"
                f"<div class='head'><span class='badge {_vclass(v.verdict)}'>{html.escape(v.verdict)}</span> "
                f"<code>{html.escape(v.id)}</code></div>"
                + "".join(f"<blockquote>{html.escape(s)}</blockquote>" for s in (sentences(quote) if quote else []))
                + "<dl>" + "".join(f"<dt>{k}</dt><dd>{html.escape(t)}</dd>" for k, t in lines) + "</dl></div>")
        title = SECTIONS.get(sec, sec)
        out.append(Section(f"Claims: {title}", "\n\n".join(md_parts), "\n".join(html_parts)))
    return out


def preconditions_section(ctx: ReportContext) -> list[Section]:
    rows = [[p.id, p.requires, p.reason, p.verdict,
             ", ".join(v.id for v in ctx.verdicts if p.id in v.requires and p.id != "five") or "every claim"]
            for p in PRECONDITIONS.values()]
    return [Section("Preconditions (declared before the results were seen)",
                    md_table(["id", "the data must show", "why", "otherwise", "claims"], rows))]


def consistency_section(ctx: ReportContext) -> list[Section]:
    if not ctx.consistency:
        return []
    rows = [[v.id, v.paper, v.ours, v.verdict] for v in ctx.consistency]
    bad = sum(not v.holds for v in ctx.consistency)
    return [Section("The paper against itself", f"{bad} of {len(ctx.consistency)} checks disagree.\n\n"
                    + md_table(["check", "one place", "the other", "verdict"], rows))]


def table1_section(ctx: ReportContext) -> list[Section]:
    if PRETRAINED_AE not in ctx.results.top1:
        return []
    return [Section("Table 1: top-1 / top-5 (%)", md_table(
        ["network", "top-1", "diff", "top-5", "paper top-1"], table1_rows(ctx.results, ctx.paper)))]


def table2_section(ctx: ReportContext) -> list[Section]:
    if ctx.grid is None:
        return []
    grid = ctx.grid
    headers = ["AE \\ classifier", *grid.classifiers]
    body = md_table(headers, grid_rows(grid))
    if ctx.paper is not None and not ctx.is_paper:
        pgrid = cross_grid(ctx.paper)
        body += "\n\nThe paper's Table 2:\n\n" + md_table(["AE \\ classifier", *pgrid.classifiers], grid_rows(pgrid))
    return [Section("Table 2: top-1 of A_i∘j", body), Section("RRC(A_i∘j)", md_table(headers, grid_rows(grid, grid.rrc(), 3)))]


def grid_heatmap_section(ctx: ReportContext) -> list[Section]:
    """Table 2 at a glance: the paper's grid beside ours, on one colour scale (and the same for RRC)."""
    if ctx.grid is None or ctx.paper is None or ctx.is_paper:
        return []
    ours, paper = ctx.grid, cross_grid(ctx.paper)
    if list(ours.classifiers) != list(paper.classifiers):
        return []
    names = list(ours.classifiers)
    fig = plot_grid_heatmaps({"the paper (ImageNet)": paper.values, f"ours ({ctx.results.source})": ours.values},
                             names, names)
    ctx.figures["table2_heatmap"] = save_figure(fig, ctx.figdir / "table2_heatmap.png")
    r_paper, r_ours = paper.rrc(), ours.rrc()
    top = max(1.0, float(np.nanmax(r_paper)), float(np.nanmax(r_ours)))
    fig = plot_grid_heatmaps({"the paper (ImageNet)": r_paper, f"ours ({ctx.results.source})": r_ours}, names, names,
                             value_range=(0.0, top), label="RRC(A_i∘j)")
    ctx.figures["rrc_heatmap"] = save_figure(fig, ctx.figdir / "rrc_heatmap.png")
    return [Section("Table 2 and RRC at a glance",
                    "Each grid on one colour scale with the paper's: a specialised AE shows as a bright diagonal "
                    "and dark cells off it; AEs that barely differ from A_S show as rows of one colour.\n\n"
                    f"![table 2](figures/{ctx.figures['table2_heatmap']})\n\n![rrc](figures/{ctx.figures['rrc_heatmap']})")]


def finetune_section(ctx: ReportContext) -> list[Section]:
    """Sec. 3.3 as it ran: per AE, how long fine-tuning ran and why it stopped, its held-out curve, and
    the cross-transfer trajectory (whether and when the grid opens up)."""
    records = {r["classifier"]: r for r in (ctx.results.raw.get("finetune") or {}).values()
               if isinstance(r, dict) and r.get("heldout") and r.get("best")}
    if not records:
        return []
    per_unit = (ctx.results.raw.get("timings_s") or {}).get("per_unit", {})
    rows, curves, alone = [], {}, {}
    for k, r in records.items():
        c, held = r["heldout"]["curves"], r["heldout"]
        own = c["heldout_top1"].get(k, [])
        alone_k = held["alone_top1"].get(k)
        minutes = per_unit.get(ae_name(k))
        rows.append([ae_name(k), f"{r['images_seen']:,}", "" if minutes is None else f"{minutes / 60:.1f}",
                     r["stop_reason"], f"{r['best']['images_seen']:,}", _num(alone_k) if alone_k is not None else "",
                     _num(own[0]) if own else "", _num(r["best"]["heldout_top1"])])
        curves[k] = {**c, "best_images_seen": r["best"]["images_seen"]}
        if alone_k is not None:
            alone[k] = alone_k
    held_n = next(iter(records.values()))["heldout"]["images"]
    ctx.figures["finetune_convergence"] = save_figure(plot_finetune_convergence(curves, alone),
                                                      ctx.figdir / "finetune_convergence.png")
    text = (f"Each AE is fine-tuned until its held-out cross-entropy stops improving (the plateau rule of Sec. 3.2 "
            f"applied to fine-tuning; see `repro/pipeline/finetune.py`), or up to its cap; the check with the lowest "
            f"held-out loss is kept. Held-out: {held_n:,} training images no stage trained on (the test set is read "
            "by the evaluation alone).\n\n"
            + md_table(["AE", "images seen", "minutes", "stopped", "kept check (images)", "held-out: i alone",
                         "A_S∘i", "A_i∘i (kept)"], rows)
            + f"\n\n![convergence](figures/{ctx.figures['finetune_convergence']})")
    if any(len(c["heldout_top1"]) > 1 for c in curves.values()):
        ctx.figures["cross_transfer"] = save_figure(plot_cross_transfer(curves), ctx.figdir / "cross_transfer.png")
        text += f"\n\n![cross transfer](figures/{ctx.figures['cross_transfer']})"
    return [Section("Fine-tuning (Sec. 3.3): convergence and cross transfer", text)]


def replicates_section(ctx: ReportContext) -> list[Section]:
    """Training-seed replicates (``repro report --runs``): the design and how many runs hold on their own."""
    if not ctx.replicates:
        return []

    md = replicates_markdown(ctx.results, ctx.replicates["names"], ctx.replicates["per_run"],
                             [v.to_dict() for v in ctx.verdicts])
    return [Section("Training-seed replicates", md)]


def previous_protocol_section(ctx: ReportContext) -> list[Section]:
    """The verdicts of the same scale under the earlier protocol beside today's, so readers see what changed."""
    if not ctx.previous:
        return []
    before = {c["id"]: c["verdict"] for c in ctx.previous.get("claims", [])}
    rows = [[v.id, before.get(v.id, "(no such claim)"), v.verdict] for v in ctx.verdicts]
    changed = sum(1 for v in ctx.verdicts if before.get(v.id) != v.verdict)
    label = ctx.previous.get("label", "previous protocol")
    note = ctx.previous.get("note", "")
    return [Section(f"Verdicts under the previous protocol ({label})",
                    f"{changed} of {len(ctx.verdicts)} verdicts differ from {label}'s."
                    + (f" {label}: {note}." if note else "") + "\n\n"
                    + md_table(["claim", label, "this run"], rows))]


def _kept_at(results: Results, ae: str) -> int | None:
    """Images seen at the check fine-tuning kept for ``ae`` (0: no check beat A_S itself), if recorded."""
    best = ((results.raw.get("finetune") or {}).get(ae) or {}).get("best") or {}
    return best.get("images_seen")


def ceiling_section(ctx: ReportContext) -> list[Section]:
    """How much of each classifier's accuracy this scale's A_S can give back at all: A_i∘i with only the
    decoder fine-tuned (the paper's method) against a diagnostic run that fine-tunes both halves.

    A diagnostic that kept its check at 0 images never beat A_S on the held-out loss: its row bounds
    nothing, and the section says so rather than read A_S's accuracy as a ceiling."""
    if ctx.ceiling is None:
        return []
    ours, ceil = ctx.results, ctx.ceiling
    rows, below, unmoved = [], [], []
    for k in ours.classifiers:
        a = ae_name(k)
        if a not in ceil.top1 or a not in ours.top1 or k not in ceil.top1.get(ALONE, {}):
            continue
        i, s, dec, both = (ours.top1[ALONE][k], ours.top1[PRETRAINED_AE][k], ours.top1[a][k], ceil.top1[a][k])
        kept = _kept_at(ceil, a)
        gap = i - s
        rows.append([k, pct(i), pct(s), pct(dec), pct(both), "" if kept is None else f"{kept:,}",
                     f"{(dec - s) / gap:.0%}" if gap > 0 else "", f"{(both - s) / gap:.0%}" if gap > 0 else ""])
        if kept == 0:
            unmoved.append(k)
        elif both < i:
            below.append(k)
    if not rows:
        return []
    reading = []
    if below:
        reading.append(f"For {', '.join(below)} the diagnostic improved on A_S and still stays below i alone: claims "
                       "that need A_i∘i to reach or pass i (table1.ai_recovers, table1.ai_surpasses_most, "
                       "noise.ai_above at small s) cannot hold at this scale for them.")
    if unmoved:
        reading.append(f"For {', '.join(unmoved)} no check of the diagnostic beat A_S on the held-out loss (it kept "
                       "A_S itself, 'kept at' 0): under this rule it measures no ceiling there.")
    return [Section("What this scale can give back (the ceiling)",
                    "Top-1 (%) on the test set. A_i∘i (decoder) is the paper's method; A_i∘i (both) fine-tunes "
                    "encoder and decoder under the same rule (a diagnostic: how much of what A_S loses any "
                    "fine-tuning of this A_S can recover); 'kept at' is the images seen at the diagnostic's kept "
                    "check. " + " ".join(reading) + "\n\n"
                    + md_table(["i", "i alone", "A_S∘i", "A_i∘i (decoder)", "A_i∘i (both)", "kept at",
                                 "share of A_S's loss won back (decoder)", "(both)"], rows))]


def width_section(ctx: ReportContext) -> list[Section]:
    """A_S's quality against its width (``repro ceiling`` records, :mod:`repro.ceiling`): decoder-only
    fine-tuning starts from A_S∘i and no decoder gives back more than i alone, so the part of the gap
    that a wider A_S closes is what the frozen encoder's width costs this scale; and, where runs
    fine-tuned from an A_S of another width are given (``ctx.width_runs``), what the method makes of it.
    Numbers only: which width a scale uses is its config's decision, with its reasons."""
    if not ctx.widths:
        return []
    ours = ctx.results
    ks = [k for k in ours.classifiers if all(k in w["test"]["top1"][PRETRAINED_AE] for w in ctx.widths)]
    if not ks:
        return []
    rows = [["i alone", "", ""] + [pct(ours.top1[ALONE][k]) for k in ks]]
    for w in sorted(ctx.widths, key=lambda w: w["ae_width"]):
        val = w["pretrain"]["val_mse"]
        rows.append([f"A_S at width {w['ae_width']:g}", "" if val is None else f"{val:.5f}", f"{w['test']['mse']:.5f}"]
                    + [pct(w["test"]["top1"][PRETRAINED_AE][k]) for k in ks])
    dec = [a for a in (ae_name(k) for k in ks) if a in ours.top1]
    if len(dec) == len(ks):
        rows.append(["A_i∘i (this run, decoder)", "", ""] + [pct(ours.top1[ae_name(k)][k]) for k in ks])
    runs = sorted(ctx.width_runs, key=run_width)
    for run in runs:
        rows.append([f"A_i∘i from width {run_width(run):g} (decoder)", "", ""]
                    + [pct(run.top1[ae_name(k)][k]) if k in run.top1.get(ae_name(k), {}) else "" for k in ks])
    width = run_width(ours)
    own = next((w for w in ctx.widths if w["ae_width"] == width), None)
    if own is not None:  # the share of A_S's loss (i - A_S∘i at this run's width) another width removes
        for w in sorted(ctx.widths, key=lambda w: w["ae_width"]):
            if w is own:
                continue
            rows.append([f"gap closed by width {w['ae_width']:g}", "", ""]
                        + [_closed(ours.top1[ALONE][k], own["test"]["top1"][PRETRAINED_AE][k],
                                   w["test"]["top1"][PRETRAINED_AE][k]) for k in ks])
    below = [k for k in ks if ae_name(k) in ours.top1 and ours.top1[ae_name(k)][k] < ours.top1[ALONE][k]]
    reading = (f" At this run's width, A_i∘i stays below i alone for {', '.join(below)}: the claims that need A_i∘i "
               "to reach or pass i (table1.ai_recovers, table1.ai_surpasses_most, noise.ai_above) cannot hold for "
               "them at this width." if below else "")
    for run in runs:
        measured = [k for k in ks if k in run.top1.get(ae_name(k), {})]
        reached = [k for k in measured if run.top1[ae_name(k)][k] >= ours.top1[ALONE][k]]
        short = [k for k in measured if k not in reached]
        parts = ([f"reaches i alone for {', '.join(reached)}"] if reached else []) + (
            [f"stays below i alone for {', '.join(short)}"] if short else [])
        if parts:
            reading += (f" Fine-tuned by this scale's protocol from A_S at width {run_width(run):g}, A_i∘i "
                        + " and ".join(parts) + ".")
    return [Section("A_S against its width",
                    "Top-1 (%) on the test set of each classifier on A_S's reconstructions, for A_S pre-trained "
                    "at each width under this scale's pre-training recipe and measured against this run's "
                    "classifiers (`repro ceiling`, `scripts/ceiling_width.sh`); MSE: pre-training's held-out "
                    "validation MSE of the kept check, and the test MSE. Decoder-only fine-tuning starts from "
                    "A_S∘i, and no decoder gives back more than i alone; 'gap closed' is the share of this run's "
                    "A_S loss (i alone - A_S∘i) that A_S at the other width does not lose."
                    + (" 'A_i∘i from width W': a run fine-tuned by this scale's protocol from the A_S of width W "
                       "with this run's classifiers (`scripts/ceiling_width_finetune.sh`), where measured."
                       if runs else "") + reading + "\n\n"
                    + md_table(["", "val MSE", "test MSE", *ks], rows))]


def calibration_section(ctx: ReportContext) -> list[Section]:
    """The instrument's calibration (``repro calibrate`` records, docs/instrument.md): what each candidate
    A_S costs the classifiers on held-out training images, and the declared rule's choice; the record of
    this run's own setting (its classifiers score on the test set exactly what this run measured) is named,
    with its test cost beside the held-out one."""
    if not ctx.calibration:
        return []
    ours = ctx.results
    alone = ours.top1.get(ALONE, {})
    own = [r for r in ctx.calibration if r.get("classifier_test_top1")
           and all(k in alone and math.isclose(v, alone[k], rel_tol=0, abs_tol=1e-9)
                   for k, v in r["classifier_test_top1"].items())
           and run_width(ours) in (None, float(r["setting"]["ae_width"]))
           and r["setting"].get("pretrain_epochs") == ours.recorded_config.get("pretrain", {}).get("epochs")]
    text = ("A_S's cost (top-1 points, i alone minus A_S∘i) on the held-out training images, for each candidate "
            "setting of A_S, with the cpu scale's classifiers trained at the candidate's side (`bash "
            "scripts/calibrate.sh`; the candidates and the rule were declared in docs/instrument.md before any ran).")
    if own and PRETRAINED_AE in ours.top1:
        r = own[0]
        test = ", ".join(f"{k} {100 * (alone[k] - ours.top1[PRETRAINED_AE][k]):.2f}" for k in r["heldout"]["cost"]
                         if k in ours.top1[PRETRAINED_AE])
        text += (f" This run's own setting is `{r['id']}` (its classifiers score on the test set what this run "
                 f"measured); its test cost, for comparison: {test}.")
    return [Section("The instrument's calibration", text + "\n\n" + calibration_table(ctx.calibration))]


def _closed(alone: float, own: float, other: float) -> str:
    """The share of the gap ``alone - own`` that ``other`` closes (negative: it loses more).

    >>> _closed(0.70, 0.60, 0.65), _closed(0.70, 0.60, 0.55), _closed(0.6, 0.6, 0.7)
    ('50%', '-50%', '')
    """
    gap = alone - own
    return f"{(other - own) / gap:.0%}" if gap > 0 else ""


def lattice_section(ctx: ReportContext) -> list[Section]:

    if ctx.grid is None:
        return []
    grid, sections = ctx.grid, []
    ctx.payload["intervals"] = {}
    rows = []
    for reading in RRC_READINGS:
        try:
            r = grid.rrc(reading)
        except Exception as err:  # e.g. no classifier accuracies for the 'classifier_alone' reading
            rows.append([reading, f"not available: {err}", ""])
            continue
        ivs = middle_intervals(r)
        widest = sorted(sorted(ivs, key=lambda iv: iv[1] - iv[0], reverse=True)[:2])
        ctx.payload["intervals"][reading] = [json_interval(lo, hi) for lo, hi in stable_intervals(r)]
        rows.append([reading + (" (default)" if reading == DEFAULT_READING else ""),
                     ", ".join(fmt_interval(*iv) for iv in widest),
                     ", ".join(fmt_interval(*iv) for iv in ivs)])
    paper_ivs = ", ".join(f"[{lo:.2f}, {hi:.2f}]" for lo, hi in PAPER_INTERVALS)
    sections.append(Section("Stable intervals of t (Sec. 3.4)",
                            f"The paper: any t in {paper_ivs} gives one context. Each (low, high] below gives one "
                            "context; the two widest inside (0, 1] are listed first. These numbers decide the RRC reading.\n\n"
                            + md_table(["RRC reading", "two widest", "all inside (0, 1]"], rows)))

    r = grid.rrc()
    widest = sorted(sorted(middle_intervals(r), key=lambda iv: iv[1] - iv[0], reverse=True)[:2])
    thresholds = {f"{t:g}": t for t in PAPER_THRESHOLDS}
    for lo, hi in widest:
        thresholds[f"{(lo + hi) / 2:.3f}"] = (lo + hi) / 2
    files = lattice_figures(grid, thresholds, ctx.figdir)
    ctx.figures.update({f"lattice_t{k}": v for k, v in files.items()})
    ctx.payload["thresholds"] = {}
    lines = []
    for label, t in thresholds.items():
        lattice = build_lattice(context_at(r, t), grid.classifiers, grid.ae_labels())
        concepts = [{"extent": list(c.extent), "intent": list(c.intent)} for c in lattice.concepts]
        ctx.payload["thresholds"][label] = {"concepts": concepts, "chain": bool(lattice.is_chain)}
        kind = "paper's threshold" if t in PAPER_THRESHOLDS else "middle of one of our two widest intervals"
        shape = "one concept (nothing separates the classifiers)" if len(concepts) == 1 else \
            ("a chain" if lattice.is_chain else "not a chain")
        listing = "; ".join(f"{{{', '.join(c['extent'])}}} / {{{', '.join(c['intent'])}}}" for c in concepts)
        lines.append(f"**t = {label}** ({kind}): {len(concepts)} concepts, {shape}. Concepts (extent / intent): "
                     f"{listing}\n\n![lattice t={label}](figures/{files[label]})")
    sections.append(Section("Concept lattices (Fig. 7)", "\n\n".join(lines)))
    ctx.figures["rrc_sorted"] = rrc_figure(grid, ctx.figdir)
    sections.append(Section("Sorted RRC (Fig. 6)", f"![rrc](figures/{ctx.figures['rrc_sorted']})"))
    return sections


def _figure_section(ctx: ReportContext, key: str, heading: str,
                    draw: Callable[[Results, Path], str | None]) -> list[Section]:
    """One figure drawn from the results, or no section when the results lack what it shows."""
    f = draw(ctx.results, ctx.figdir)
    if not f:
        return []
    ctx.figures[key] = f
    return [Section(heading, f"![{key}](figures/{f})")]


def noise_section(ctx: ReportContext) -> list[Section]:
    return _figure_section(ctx, "noise", "Noise (Fig. 5)", noise_figure)


def nmi_section(ctx: ReportContext) -> list[Section]:
    return _figure_section(ctx, "nmi", "Normalised mutual information (Fig. 9)", nmi_figure)


def run_figures_section(ctx: ReportContext) -> list[Section]:
    return [Section(f"Figure: {key}", f"![{key}]({rel})") for key, rel in sorted((ctx.results.raw.get("figures") or {}).items())]


# Drawn by `repro gallery` from the run's checkpoints, not from results.json (repro.gallery, which imports
# torch: the name lives here so that the report stays torch-free).
GALLERY_FILE = "gallery.png"


def gallery_section(ctx: ReportContext) -> list[Section]:
    """The reconstruction gallery when figures/gallery.png is there, else how to draw it (a run's report)."""
    if ctx.is_paper or ctx.replicates:
        return []
    if (ctx.figdir / GALLERY_FILE).is_file():
        ctx.figures["gallery"] = GALLERY_FILE
        return [Section("Reconstruction gallery", f"![gallery](figures/{GALLERY_FILE})")]
    return [Section("Reconstruction gallery", "Not drawn: `repro gallery DIR` (DIR: this run's folder, with its "
                    f"checkpoints under ckpt/) draws test images beside every autoencoder's reconstruction into "
                    f"figures/{GALLERY_FILE}, and `repro report DIR` then shows it here.")]


# --- the time budget (read from results.json; repro.budget wrote it) -----------------------------


def budget_markdown(raw: dict[str, Any]) -> str | None:
    """The claims report's "Time budget" section from a results.json's ``budget`` entry (None without); the
    report reserve the planner declared (REPORT_RESERVE_S) where the entry's plan does not say.

    >>> budget_markdown({}) is None
    True
    """
    b = raw.get("budget")
    if not isinstance(b, dict):
        return None
    plan = b.get("plan") or {}
    actual = b.get("actual_s") or {}
    total = b["budget_s"]
    lines = [f"Budget **{fmt_duration(total)}** (`--time-budget`; repro/budget.py). When results.json was "
             f"written, the run had spent **{fmt_duration(b['spent_at_results_s'])}**; the claims report follows "
             f"(reserve {fmt_duration(plan.get('report_reserve_s', REPORT_RESERVE_S))})."]
    rows = []
    training = total - sum(plan.get(k, 0.0) for k in ("evaluate_estimate_s", "report_reserve_s", "margin_s"))
    for stage, share in b["shares"].items():
        rows.append([stage, f"{share['weight']:.0%} of the training time ({fmt_duration(max(0.0, training) * share['weight'])})",
                     _secs(actual.get(stage))])
    rows.append(["evaluate", f"estimate {_secs(plan.get('evaluate_estimate_s'))}", _secs(actual.get("evaluate"))])
    rows.append(["claims report", f"reserve {_secs(plan.get('report_reserve_s'))}", ""])
    rows.append(["margin", f"{b['margin']['fraction']:.0%} of the budget ({_secs(plan.get('margin_s'))})", ""])
    lines.append(_table(["stage", "planned (time left for training is shared as it goes)", "took"], rows))
    lines.append("Why these shares:\n\n" + "\n".join(
        [f"- **{stage}**: {share['reason']}" for stage, share in b["shares"].items()]
        + ["- **evaluate**: its forward passes over the test set and the noise sweep and its nMI and LAB "
           "statistics, costed from the probe's throughputs, plus the fixed costs (models, figures)",
           f"- **margin**: {b['margin']['reason']}"]))
    urows = []
    for unit, d in b["units"].items():
        m = d.get("measured")
        if "cap_images" not in d:  # ended within its measurement
            urows.append([unit, "", "", "", "", d.get("limited_by", "")])
            continue
        speed = f"{m['images_per_s']:,.0f} ({m['steps']} steps, {m['seconds']:.2f} s; {m['how']})" if m else \
            "not measured: no time left"
        urows.append([unit, speed, _secs(d["allotted_s"]), f"{d['cap_images']:,}",
                      f"{d['cap_epochs']:.2f} of {d['configured_epochs']:g}", d["limited_by"]])
    if urows:
        lines.append("Each unit's sizing decision (the allotment is its part of the time left when it decided):\n\n"
                     + _table(["unit", "measured images/s", "allotted", "cap (images)", "cap (epochs)", "limited by"],
                              urows))
    probe = plan.get("probe") or {}
    if probe.get("forward_images_per_s"):
        lines.append("Forward throughput measured by the plan's probe (images/s, batches of "
                     f"{probe.get('batch')}): " + ", ".join(f"{k} {v:,.0f}" for k, v in probe["forward_images_per_s"].items())
                     + f"; nMI and LAB statistics {probe.get('statistics_s_per_image', 0) * 1e3:.2f} ms per image and AE.")
    return "\n\n".join(lines)


def _secs(x: float | None) -> str:
    return "" if x is None else fmt_duration(float(x))


def _table(headers: list[str], rows: list[list[Any]]) -> str:  # numbers parsed, unlike md_table: as it was written
    return tabulate(rows, headers=headers, tablefmt="github")


def budget_report_section(ctx: ReportContext) -> list[Section]:
    """The "Time budget" section, when the run had one: read from results.json's ``budget`` entry, which the
    planner (repro.budget) wrote; the report reads data and does not call into the planner."""
    md = budget_markdown(ctx.results.raw)
    return [Section("Time budget", md)] if md else []


def provenance_section(ctx: ReportContext) -> list[Section]:
    prov = ctx.results.raw.get("provenance")
    if not prov:
        return []
    return [Section("Run configuration and versions", "```json\n" + json.dumps(prov, indent=2, sort_keys=True) + "\n```")]


SectionBuilder = Callable[[ReportContext], list[Section]]

# The report, in order. Append a builder to add a section (figures and JSON entries go through ctx).
SECTION_BUILDERS: list[SectionBuilder] = [
    summary_section,
    replicates_section,
    previous_protocol_section,
    claims_section,
    preconditions_section,
    consistency_section,
    table1_section,
    table2_section,
    grid_heatmap_section,
    finetune_section,
    ceiling_section,
    width_section,
    calibration_section,
    lattice_section,
    noise_section,
    nmi_section,
    your_classifiers_section,  # your own classifiers beside the five (no verdict reads them)
    run_figures_section,
    gallery_section,  # `repro gallery`'s figure, when drawn
    provenance_section,
    budget_report_section,  # with --time-budget: the plan and each unit's sizing decision (repro.budget)
]


def build_report(results: Results, out_dir: str | Path, paper: Results | None = None, title: str | None = None,
                 resamples: int | None = None, previous: dict[str, Any] | None = None,
                 ceiling: Results | None = None, replicates: dict[str, Any] | None = None,
                 widths: list[dict[str, Any]] | None = None,
                 width_runs: list[Results] | None = None,
                 calibration: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Evaluate every claim on ``results`` and write claims.md / claims.json / claims.html to ``out_dir``.

    ``previous``: the claims.json of the same scale under an earlier protocol (with optional "label" and
    "note"), shown beside today's verdicts; ``ceiling``: a diagnostic run fine-tuning both AE halves;
    ``replicates``: {"names", "per_run"} of the runs pooled into ``results`` (repro.replicates);
    ``widths``: ``repro ceiling`` records of A_S at other widths (:func:`repro.ceiling.read_ceiling`);
    ``width_runs``: runs fine-tuned from an A_S of another width (:func:`repro.ceiling.read_width_run`);
    ``calibration``: ``repro calibrate`` records of candidate A_S settings (:func:`repro.calibration.read_all`)."""
    out = Path(out_dir)
    kwargs = {} if resamples is None else {"resamples": resamples}
    verdicts = sort_by_section(evaluate(results, **kwargs))
    is_paper = is_paper_tables(results)
    ctx = ReportContext(results, paper, out, verdicts, paper_consistency() if is_paper else [], is_paper,
                        previous=previous, ceiling=ceiling, replicates=replicates, widths=widths or [],
                        width_runs=width_runs or [], instrument=instrument_notes(results, ceiling),
                        calibration=calibration or [])
    try:
        ctx.grid = cross_grid(results)
    except NotMeasured:
        ctx.grid = None
    title = title or f"Claims report: {'the paper’s own tables' if is_paper else results.source + ' scale'}"

    builders = SECTION_BUILDERS
    if _lacks_the_five(ctx):  # the run's own results right after the summary that says why no claim is measured
        builders = [summary_section, your_classifiers_section,
                    *(b for b in SECTION_BUILDERS if b not in (summary_section, your_classifiers_section))]
    sections = [s for build in builders for s in build(ctx)]
    md = f"# {title}\n\n" + "\n\n".join(f"## {s.heading}\n\n{s.markdown}" for s in sections) + "\n"
    payload = {
        "title": title,
        "source": results.source,
        "rrc_reading": DEFAULT_READING,
        "counts": verdict_counts(verdicts),
        "claims": [v.to_dict() for v in verdicts],
        "preconditions": {p.id: {"requires": p.requires, "reason": p.reason, "verdict": p.verdict}
                          for p in PRECONDITIONS.values()},
        "paper_consistency": [v.to_dict() for v in ctx.consistency],
        **({"instrument": ctx.instrument} if ctx.instrument else {}),
        **ctx.payload,
        "figures": {k: f"figures/{v}" for k, v in ctx.figures.items()},
    }
    write_text_atomic(out / "claims.md", md)
    write_text_atomic(out / "claims.json", json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_text_atomic(out / "claims.html", _html(title, sections, out))
    return payload


# --- HTML -----------------------------------------------------------------------------------------

_VERDICT_COLOURS = {  # background, text: colour-blind-safe enough with the words always written out
    "holds": ("#d8f0d8", "#1b5e20"),
    "fails": ("#f8d7d7", "#8b1a1a"),
    "inconclusive": ("#fff0c2", "#7a5600"),
    "not measured": ("#e6e6e6", "#444444"),
}


def _vclass(verdict: str) -> str:
    """CSS class of a verdict.

    >>> _vclass("not measured")
    'v-not-measured'
    """
    return "v-" + verdict.replace(" ", "-") if verdict in _VERDICT_COLOURS else ""


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _render_markdown(body: str, out: Path) -> str:
    """The little markdown the report writes: tables, code blocks, images, headings, quotes, lists, paragraphs."""
    parts: list[str] = []
    table: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if table:
            cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in table
                     if not re.fullmatch(r"[|\-: ]+", row.strip())]
            head, *rest = cells
            parts.append("<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr></thead><tbody>"
                         + "".join("<tr>" + "".join(f"<td class='{_vclass(c)}'>{html.escape(c)}</td>" if _vclass(c)
                                                    else f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rest)
                         + "</tbody></table>")
            table.clear()
        if items:
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    in_code = False
    code: list[str] = []
    for line in body.split("\n"):
        if line.startswith("```"):
            if in_code:
                parts.append("<pre>" + html.escape("\n".join(code)) + "</pre>")
                code.clear()
            in_code = not in_code
            continue
        if in_code:
            code.append(line)
            continue
        if line.startswith("|"):
            table.append(line)
            continue
        if line.startswith("- "):
            items.append(line[2:])
            continue
        flush()
        if line.startswith("#### "):
            parts.append(f"<h4>{_inline(line[5:])}</h4>")
            continue
        if line.startswith("> "):
            parts.append(f"<blockquote>{_inline(line[2:])}</blockquote>")
            continue
        for alt, src in re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", line):
            path = out / src
            if path.is_file():
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>')
            else:
                parts.append(f"<p>(missing figure {html.escape(src)})</p>")
        line = re.sub(r"!\[[^\]]*\]\([^)]+\)", "", line).strip()
        if line:
            parts.append(f"<p>{_inline(line)}</p>")
    flush()
    return "\n".join(parts)


def _html(title: str, sections: list[Section], out: Path) -> str:
    """One self-contained page: styles inline, images embedded as data URIs, no scripts."""
    colours = "".join(f".v-{k.replace(' ', '-')}{{background:{bg};color:{fg}}}" for k, (bg, fg) in _VERDICT_COLOURS.items())
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em;line-height:1.35}"
             "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}"
             "img{max-width:100%}pre{background:#f6f6f6;padding:1em;overflow:auto}"
             ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:bold;font-size:13px}"
             ".counts .badge{font-size:15px;margin-right:4px}"
             ".claim{border-left:6px solid #ccc;background:#fff !important;color:inherit !important;margin:1em 0;padding:.3em .8em}"
             ".claim.v-holds{border-color:#2e7d32}.claim.v-fails{border-color:#c62828}"
             ".claim.v-inconclusive{border-color:#e0a800}.claim.v-not-measured{border-color:#9e9e9e}"
             ".claim blockquote{margin:.4em 0;padding:.2em .8em;border-left:3px solid #ddd;font-style:italic;color:#333}"
             ".claim dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:.4em 0;font-size:14px}"
             ".claim dt{font-weight:bold;color:#555}.claim dd{margin:0}" + colours)
    body = "\n".join(f"<h2>{html.escape(s.heading)}</h2>\n{s.html if s.html is not None else _render_markdown(s.markdown, out)}"
                     for s in sections)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style>"
            f"</head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")
