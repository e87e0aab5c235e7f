"""The report's section "Your classifiers": where your own classifiers stand beside the paper's five.

The claims speak about L, A, V, I, R only (:func:`repro.claims.core.paper_view` drops every other
classifier before a check runs), so the rest of the report never shows an extra classifier outside
Table 1. This section does: the cross grid and the RRC of every classifier of the run, each
classifier's rank by how well its AE's reconstructions serve the others and by how well it takes the
others' reconstructions, the sorted RRC curve (Fig. 6) and the concept lattices (Fig. 7) of the
whole grid, with where each of your classifiers (and its AE) sits in them. It changes no verdict.

:func:`your_classifiers_section` is one of the report's section builders (repro.report.SECTION_BUILDERS);
it returns no section when the results hold only the paper's classifiers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from repro.grid import DEFAULT_READING, CrossGrid
from repro.paper import PAPER_CLASSIFIERS
from repro.results import ALONE, PRETRAINED_AE, Results, ae_name
from repro.sections import ReportContext, Section, fmt_interval, grid_rows, md_table
from repro.analysis.lattice import build_lattice, context_at, stable_intervals
from repro.figures import PAPER_THRESHOLDS, plot_lattice, plot_rrc_curve, save_figure
from repro.vocabulary import plural

HEADING = "Your classifiers"
FIGURE_PREFIX = "yours_"  # figure files of this section, beside the report's own (lattice_t0.2.png, ...)


def extras(results: Results) -> list[str]:
    """The classifiers of ``results`` that are not the paper's five, in the run's order.

    >>> extras(Results("smoke", ["L", "mine", "V"], {}))
    ['mine']
    """
    return [c for c in results.classifiers if c not in PAPER_CLASSIFIERS]


def specs(results: Results) -> dict[str, str]:
    """label -> spec of the extras, from the run's configuration in results.json (empty if not recorded)."""
    extra = (results.recorded_config.get("classifiers") or {}).get("extra") or {}
    return {k: str(v) for k, v in extra.items()} if isinstance(extra, dict) else {}


def full_grid(results: Results) -> CrossGrid | None:
    """acc(A_i∘j) over every classifier of the run, the extras included (None when a cell is missing)."""
    names = [c for c in results.classifiers if ae_name(c) in results.top1]
    if not names or any(c not in results.top1[ae_name(a)] for a in names for c in names):
        return None
    values = np.array([[results.top1[ae_name(a)][c] for c in names] for a in names], dtype=float)
    alone = {c: float(v) for c, v in results.top1.get(ALONE, {}).items() if c in names}
    return CrossGrid(tuple(names), tuple(names), values, alone)


def rrc_ranking(grid: CrossGrid, r: np.ndarray) -> list[dict[str, Any]]:
    """Per classifier i: the mean RRC of its AE on the other classifiers (row i without the diagonal:
    how well A_i's reconstructions serve the others) and the mean RRC of the other AEs on it (column i
    without the diagonal: how well i takes the others' reconstructions), with their ranks (1 = highest).

    >>> g = CrossGrid(("X", "Y", "Z"), ("X", "Y", "Z"), np.eye(3))
    >>> r = np.array([[1.0, 0.9, 0.8], [0.5, 1.0, 0.7], [0.2, 0.4, 1.0]])
    >>> [(d["classifier"], round(d["gives"], 2), d["gives_rank"], round(d["takes"], 2), d["takes_rank"])
    ...  for d in rrc_ranking(g, r)]
    [('X', 0.85, 1, 0.35, 3), ('Y', 0.6, 2, 0.65, 2), ('Z', 0.3, 3, 0.75, 1)]
    """
    n = len(grid.aes)
    off = ~np.eye(n, dtype=bool)
    gives = [float(r[i][off[i]].mean()) if n > 1 else float("nan") for i in range(n)]
    takes = [float(r[:, j][off[:, j]].mean()) if n > 1 else float("nan") for j in range(n)]

    def ranks(values: list[float]) -> list[int]:
        order = sorted(range(n), key=lambda k: -values[k])
        out = [0] * n
        for place, k in enumerate(order, start=1):
            out[k] = place
        return out

    gr, tr = ranks(gives), ranks(takes)
    rows = [{"classifier": c, "gives": gives[i], "gives_rank": gr[i], "takes": takes[i], "takes_rank": tr[i]}
            for i, c in enumerate(grid.aes)]
    return sorted(rows, key=lambda d: d["gives_rank"])


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.2f}"


def _diff(x: float | None, base: float | None) -> str:
    return "" if x is None or base is None else f"{100 * (x - base):+.2f}"


def _training_line(results: Results, c: str) -> str:
    record = (results.raw.get("classifier_training") or {}).get(c) or {}
    if record.get("source") == "trained":
        return f"trained here, {plural(record['epochs'], 'epoch')}" if isinstance(record.get("epochs"), (int, float)) \
            else "trained here"
    if record.get("source"):
        return "its own weights"
    return ""


def your_classifiers_section(ctx: ReportContext) -> list[Section]:
    """The section (markdown; the report renders its HTML), its figures and its claims.json entry."""

    results = ctx.results
    mine = extras(results)
    if not mine:
        return []
    spec_of = specs(results)
    payload: dict[str, Any] = {"classifiers": {c: spec_of.get(c) for c in mine}}
    ctx.payload["your_classifiers"] = payload
    parts = [f"Your classifiers beside the paper's five: {', '.join(f'**{c}**' for c in mine)}. The claims above read "
             "L, A, V, I, R only; nothing in this section changes a verdict. The grid, the RRC and the lattices "
             f"below take every classifier of the run ({', '.join(results.classifiers)})."]

    rows = []
    for c in mine:
        alone = results.top1.get(ALONE, {}).get(c)
        a_s = results.top1.get(PRETRAINED_AE, {}).get(c)
        own = results.top1.get(ae_name(c), {}).get(c)
        params = (results.raw.get("classifier_training") or {}).get(c, {}).get("parameters")
        rows.append([c, spec_of.get(c, ""), _training_line(results, c), f"{params:,}" if params else "",
                     _pct(alone), _pct(a_s), _diff(a_s, alone), _pct(own), _diff(own, alone)])
    parts.append("#### Table 1 rows (top-1 %)\n\n" + md_table(
        ["classifier", "spec", "weights", "parameters", "i", "A_S∘i", "diff", "A_i∘i", "diff"], rows))

    grid = full_grid(results)
    if grid is None:
        parts.append("The results hold no complete cross grid of these classifiers, so they have no RRC, ranking "
                     "or lattice here.")
        return [Section(HEADING, "\n\n".join(parts))]
    headers = ["AE \\ classifier", *grid.classifiers]
    parts.append("#### Cross grid: top-1 of A_i∘j, every classifier (Table 2)\n\n" + md_table(headers, grid_rows(grid)))
    payload["grid"] = {"aes": [ae_name(a) for a in grid.aes], "classifiers": list(grid.classifiers),
                       "top1": grid.values.round(6).tolist()}
    try:
        r = grid.rrc(DEFAULT_READING)
    except Exception as err:  # e.g. an A_i∘i of zero: no RRC
        parts.append(f"No RRC ({DEFAULT_READING} reading): {err}")
        return [Section(HEADING, "\n\n".join(parts))]
    payload["rrc"] = r.round(6).tolist()
    parts.append(f"#### RRC(A_i∘j), reading `{DEFAULT_READING}`\n\n" + md_table(headers, grid_rows(grid, r, 3)))

    ranking = rrc_ranking(grid, r)
    payload["ranking"] = ranking
    parts.append(
        "#### RRC ranking\n\n'Gives': the mean RRC of A_i's reconstructions on the other classifiers (how much of "
        "what they use A_i keeps); 'takes': the mean RRC of the other AEs on classifier i (how well it classifies "
        "what the others keep). Rank 1 is the highest.\n\n"
        + md_table(["classifier", "yours", "gives", "rank", "takes", "rank"],
                    [[d["classifier"], "yes" if d["classifier"] in mine else "", f"{d['gives']:.3f}",
                      str(d["gives_rank"]), f"{d['takes']:.3f}", str(d["takes_rank"])] for d in ranking]))
    values = sorted(((float(r[i, j]), f"A_{a}∘{c}") for i, a in enumerate(grid.aes)
                     for j, c in enumerate(grid.classifiers) if i != j), key=lambda v: v[0])
    placed = [f"{name} {v:.3f} ({k} of {len(values)})" for k, (v, name) in enumerate(values, start=1)
              if any(name.startswith(f"A_{c}∘") or name.endswith(f"∘{c}") for c in mine)]
    fig = save_figure(plot_rrc_curve(r, grid.ae_labels(), list(grid.classifiers), thresholds=PAPER_THRESHOLDS),
                      ctx.figdir / f"{FIGURE_PREFIX}rrc_sorted.png")
    ctx.figures[f"{FIGURE_PREFIX}rrc_sorted"] = fig
    parts.append("#### Sorted RRC, every classifier (Fig. 6)\n\nYour classifiers' pairs, counted from the lowest "
                 f"RRC: {'; '.join(placed) or 'none'}.\n\n![rrc, every classifier](figures/{fig})")

    middle = [(lo, hi) for lo, hi in stable_intervals(r) if lo > -np.inf and hi <= 1.0]
    widest = sorted(sorted(middle, key=lambda iv: iv[1] - iv[0], reverse=True)[:2])
    thresholds = {f"{t:g}": t for t in PAPER_THRESHOLDS}
    for lo, hi in widest:
        thresholds.setdefault(f"{(lo + hi) / 2:.3f}", (lo + hi) / 2)
    lines = [f"Objects are the classifiers, attributes the AEs (classifier j has A_i when RRC(A_i∘j) >= t). The two "
             f"widest stable intervals of t inside (0, 1] of this grid: {', '.join(fmt_interval(*iv) for iv in widest) or 'none'}."]
    payload["thresholds"] = {}
    for label, t in thresholds.items():
        lattice = build_lattice(context_at(r, t), grid.classifiers, grid.ae_labels())
        where = []
        record: dict[str, Any] = {"concepts": len(lattice.concepts), "chain": bool(lattice.is_chain)}
        for c in mine:
            obj = lattice.concepts[lattice.object_concept(c)]
            att = lattice.concepts[lattice.attribute_concept(ae_name(c))]
            alike = [g for g in obj.extent if g != c and lattice.object_concept(g) == lattice.object_concept(c)]
            record[c] = {"takes": list(obj.intent), "alike": alike, "taken_by": list(att.extent)}
            where.append(f"{c} takes {{{', '.join(obj.intent) or 'no AE'}}}"
                         + (f", as {', '.join(alike)} do (same concept)" if alike else "")
                         + f"; A_{c} is taken by {{{', '.join(att.extent) or 'no classifier'}}}")
        payload["thresholds"][label] = record
        shape = "one concept" if len(lattice.concepts) == 1 else \
            f"{len(lattice.concepts)} concepts, {'a chain' if lattice.is_chain else 'not a chain'}"
        fig = save_figure(plot_lattice(lattice, title=f"every classifier, t = {label}"),
                          ctx.figdir / f"{FIGURE_PREFIX}lattice_t{label}.png")
        ctx.figures[f"{FIGURE_PREFIX}lattice_t{label}"] = fig
        lines.append(f"**t = {label}**: {shape}. " + ". ".join(where)
                     + f".\n\n![lattice, every classifier, t={label}](figures/{fig})")
    parts.append("#### Concept lattices, every classifier (Fig. 7)\n\n" + "\n\n".join(lines))
    return [Section(HEADING, "\n\n".join(parts))]
