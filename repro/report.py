"""The claims report: claims.md, claims.json and a self-contained claims.html (figures embedded).

Built from a :class:`repro.results.Results` alone (our results.json, or the paper's tables), so that
``repro report`` rebuilds it without rerunning anything. Output is deterministic: no timestamps, fixed
figure metadata, so a rebuilt report can be compared byte for byte with a committed one.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from repro.claims import Verdict, evaluate
from repro.claims.consistency import paper_consistency
from repro.claims.core import NotMeasured, cross_grid
from repro.grid import DEFAULT_READING, RRC_READINGS, CrossGrid
from repro.results import ALONE, PRETRAINED_AE, Results, ae_name

PAPER_THRESHOLDS = (0.1, 0.2, 0.8, 0.9)
PAPER_INTERVALS = ((0.17, 0.52), (0.66, 0.84))


def write_text_atomic(path: Path, text: str | bytes) -> None:
    """Write via a temporary file in the same folder and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode() if isinstance(text, str) else text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fmt_interval(low: float, high: float) -> str:
    lo = "-inf" if low == -math.inf else f"{low:.4f}"
    hi = "inf" if high == math.inf else f"{high:.4f}"
    return f"({lo}, {hi}]"


def _json_interval(low: float, high: float) -> list[float | None]:
    return [None if low == -math.inf else round(low, 6), None if high == math.inf else round(high, 6)]


# --- figures ------------------------------------------------------------------------------------


def _save(fig, path: Path) -> str:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    # Fixed metadata keeps the PNG bytes identical across rebuilds.
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path.name


def lattice_figures(grid: CrossGrid, thresholds: dict[str, float], out: Path, reading: str = DEFAULT_READING) -> dict[str, str]:
    from repro.analysis.figures import plot_lattice
    from repro.analysis.lattice import build_lattice, context_at

    r = grid.rrc(reading)
    files = {}
    for label, t in thresholds.items():
        lattice = build_lattice(context_at(r, t), grid.classifiers, grid.ae_labels())
        fig = plot_lattice(lattice, title=f"t = {label}")
        files[label] = _save(fig, out / f"lattice_t{label}.png")
    return files


def noise_figure(results: Results, out: Path) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results.noise:
        return None
    levels = results.noise["levels"]
    fig, axes = plt.subplots(1, len(results.classifiers), figsize=(3.2 * len(results.classifiers), 3), sharey=True)
    for ax, clf in zip(np.atleast_1d(axes), results.classifiers):
        for setting, style, label in (("none", "-k", clf), ("A_S", "--", f"A_S∘{clf}"), (ae_name(clf), "-o", f"A_{clf}∘{clf}")):
            curve = results.noise["top1"].get(setting, {}).get(clf)
            if curve is not None:
                ax.plot(levels, curve, style, label=label, markersize=3)
        ax.set_title(clf)
        ax.set_xlabel("noise level s")
        ax.legend(fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("top-1")
    fig.suptitle("Accuracy under uniform noise U[-s, s] (Fig. 5)")
    return _save(fig, out / "noise.png")


def nmi_figure(results: Results, out: Path) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results.nmi or "intra" not in results.nmi:
        return None
    variant = "arithmetic" if "arithmetic" in results.nmi["intra"] else next(iter(results.nmi["intra"]))
    intra, inter = results.nmi["intra"][variant], results.nmi.get("inter", {}).get(variant, {})
    names = [n for n in [PRETRAINED_AE, *[ae_name(c) for c in results.classifiers]] if n in intra]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(1 + 0.9 * len(names), 3))
    ax.bar(x - 0.2, [intra[n] for n in names], 0.4, label="intra-nMI(x, A(x))")
    ax.bar(x + 0.2, [inter.get(n, np.nan) for n in names], 0.4, label="inter-nMI(A(x1), A(x2))")
    if "original" in inter:
        ax.axhline(inter["original"], color="gray", ls=":", label="inter-nMI of originals")
    ax.set_xticks(x, names)
    ax.set_ylabel(f"nMI ({variant})")
    ax.legend(fontsize=7)
    ax.set_title("Normalised mutual information (Fig. 9)")
    return _save(fig, out / "nmi.png")


def rrc_figure(grid: CrossGrid, out: Path, reading: str = DEFAULT_READING) -> str:
    from repro.analysis.figures import plot_rrc_curve

    fig = plot_rrc_curve(grid.rrc(reading), grid.ae_labels(), list(grid.classifiers), thresholds=PAPER_THRESHOLDS)
    return _save(fig, out / "rrc_sorted.png")


# --- tables -----------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.2f}"


def table1_rows(results: Results, paper: Results | None) -> list[list[str]]:
    rows = []
    for clf in results.classifiers:
        for setting, label in ((ALONE, clf), (PRETRAINED_AE, f"A_S∘{clf}"), (ae_name(clf), f"A_{clf}∘{clf}")):
            ours = results.top1.get(setting, {}).get(clf)
            ours5 = results.top5.get(setting, {}).get(clf)
            base = results.top1.get(ALONE, {}).get(clf)
            p = paper.top1.get(setting, {}).get(clf) if paper and clf in paper.classifiers else None
            diff = "" if setting == ALONE or ours is None or base is None else f"{100 * (ours - base):+.2f}"
            rows.append([label, _pct(ours), diff, _pct(ours5), _pct(p)])
    return rows


def grid_rows(grid: CrossGrid, values: np.ndarray | None = None, digits: int = 4) -> list[list[str]]:
    values = grid.values if values is None else values
    return [[f"A_{a}"] + [f"{v:.{digits}f}" for v in values[i]] for i, a in enumerate(grid.aes)]


def _md_table(headers: list[str], rows: list[list[Any]]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


# --- the report -----------------------------------------------------------------------------------


def summary_rows(verdicts: list[Verdict]) -> list[list[str]]:
    rows = []
    for v in verdicts:
        interval = "" if v.interval is None else f"[{v.interval[0]:.4g}, {v.interval[1]:.4g}]"
        support = "" if v.support is None else f"{v.support:.0%}"
        rows.append([v.id, v.section, v.statement, v.paper, v.ours, interval, support, v.verdict])
    return rows


SUMMARY_HEADERS = ["claim", "section", "statement", "paper", "ours", "95% interval", "support", "verdict"]


def build_report(results: Results, out_dir: str | Path, paper: Results | None = None, title: str | None = None,
                 resamples: int | None = None) -> dict[str, Any]:
    """Evaluate every claim on ``results`` and write claims.md / claims.json / claims.html to ``out_dir``."""
    out = Path(out_dir)
    figdir = out / "figures"
    kwargs = {} if resamples is None else {"resamples": resamples}
    verdicts = evaluate(results, **kwargs)
    is_paper = results.source == "paper"
    consistency = paper_consistency() if is_paper else []
    title = title or f"Claims report: {'the paper’s own tables' if is_paper else results.source + ' scale'}"

    sections: list[tuple[str, str]] = []  # (heading, markdown body)
    figures: dict[str, str] = {}

    counts = {k: sum(v.verdict.split(" ")[0] == k for v in verdicts) for k in ("holds", "fails")}
    counts["not measured"] = sum(v.verdict == "not measured" for v in verdicts)
    intro = (f"Source: **{results.source}**. {len(verdicts)} claims: {counts['holds']} hold, {counts['fails']} fail, "
             f"{counts['not measured']} not measured. RRC reading: `{DEFAULT_READING}` (acc(i) = acc(A_i∘i)); "
             "tolerances and their reasons: `repro/claims/tolerances.py`.")
    sections.append(("Summary", intro + "\n\n" + _md_table(SUMMARY_HEADERS, summary_rows(verdicts))))

    if consistency:
        rows = [[v.id, v.paper, v.ours, v.verdict] for v in consistency]
        bad = sum(not v.holds for v in consistency)
        sections.append(("The paper against itself", f"{bad} of {len(consistency)} checks disagree.\n\n"
                         + _md_table(["check", "one place", "the other", "verdict"], rows)))

    if PRETRAINED_AE in results.top1:
        sections.append(("Table 1: top-1 / top-5 (%)", _md_table(
            ["network", "top-1", "diff", "top-5", "paper top-1"], table1_rows(results, paper))))

    grid_info: dict[str, Any] = {}
    try:
        grid = cross_grid(results)
    except NotMeasured:
        grid = None
    if grid is not None:
        headers = ["AE \\ classifier", *grid.classifiers]
        body = _md_table(headers, grid_rows(grid))
        if paper is not None and not is_paper:
            pgrid = cross_grid(paper)
            body += "\n\nThe paper's Table 2:\n\n" + _md_table(["AE \\ classifier", *pgrid.classifiers], grid_rows(pgrid))
        sections.append(("Table 2: top-1 of A_i∘j", body))
        sections.append(("RRC(A_i∘j)", _md_table(headers, grid_rows(grid, grid.rrc(), 3))))
        grid_info = _lattice_sections(grid, figdir, sections, figures)

    for name, fn in (("noise", noise_figure), ("nmi", nmi_figure)):
        f = fn(results, figdir)
        if f:
            figures[name] = f
            sections.append(({"noise": "Noise (Fig. 5)", "nmi": "Normalised mutual information (Fig. 9)"}[name],
                             f"![{name}](figures/{f})"))
    for key, rel in sorted((results.raw.get("figures") or {}).items()):
        sections.append((f"Figure: {key}", f"![{key}]({rel})"))

    prov = results.raw.get("provenance")
    if prov:
        sections.append(("Run configuration and versions", "```json\n" + json.dumps(prov, indent=2, sort_keys=True) + "\n```"))

    md = f"# {title}\n\n" + "\n\n".join(f"## {h}\n\n{b}" for h, b in sections) + "\n"
    payload = {
        "title": title,
        "source": results.source,
        "rrc_reading": DEFAULT_READING,
        "claims": [v.to_dict() for v in verdicts],
        "paper_consistency": [v.to_dict() for v in consistency],
        **grid_info,
        "figures": {k: f"figures/{v}" for k, v in figures.items()},
    }
    write_text_atomic(out / "claims.md", md)
    write_text_atomic(out / "claims.json", json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_text_atomic(out / "claims.html", _html(title, sections, out))
    return payload


def _lattice_sections(grid: CrossGrid, figdir: Path, sections, figures) -> dict[str, Any]:
    from repro.analysis.lattice import build_lattice, context_at, stable_intervals
    from repro.claims.cross import middle_intervals

    info: dict[str, Any] = {"intervals": {}}
    rows = []
    for reading in RRC_READINGS:
        try:
            r = grid.rrc(reading)
        except Exception as err:  # e.g. no classifier accuracies for the 'classifier_alone' reading
            rows.append([reading, f"not available: {err}", ""])
            continue
        ivs = middle_intervals(r)
        widest = sorted(sorted(ivs, key=lambda iv: iv[1] - iv[0], reverse=True)[:2])
        info["intervals"][reading] = [_json_interval(lo, hi) for lo, hi in stable_intervals(r)]
        rows.append([reading + (" (default)" if reading == DEFAULT_READING else ""),
                     ", ".join(_fmt_interval(*iv) for iv in widest),
                     ", ".join(_fmt_interval(*iv) for iv in ivs)])
    paper_ivs = ", ".join(f"[{lo:.2f}, {hi:.2f}]" for lo, hi in PAPER_INTERVALS)
    sections.append(("Stable intervals of t (Sec. 3.4)",
                     f"The paper: any t in {paper_ivs} gives one context. Each (low, high] below gives one context; "
                     "the two widest inside (0, 1] are listed first. These numbers decide the RRC reading.\n\n"
                     + _md_table(["RRC reading", "two widest", "all inside (0, 1]"], rows)))

    r = grid.rrc()
    widest = sorted(sorted(middle_intervals(r), key=lambda iv: iv[1] - iv[0], reverse=True)[:2])
    thresholds = {f"{t:g}": t for t in PAPER_THRESHOLDS}
    for lo, hi in widest:
        thresholds[f"{(lo + hi) / 2:.3f}"] = (lo + hi) / 2
    files = lattice_figures(grid, thresholds, figdir)
    figures.update({f"lattice_t{k}": v for k, v in files.items()})
    info["thresholds"] = {}
    lines = []
    for label, t in thresholds.items():
        lattice = build_lattice(context_at(r, t), grid.classifiers, grid.ae_labels())
        concepts = [{"extent": list(c.extent), "intent": list(c.intent)} for c in lattice.concepts]
        info["thresholds"][label] = {"concepts": concepts, "chain": bool(lattice.is_chain)}
        kind = "paper's threshold" if t in PAPER_THRESHOLDS else "middle of one of our two widest intervals"
        listing = "; ".join(f"{{{', '.join(c['extent'])}}} / {{{', '.join(c['intent'])}}}" for c in concepts)
        lines.append(f"**t = {label}** ({kind}): {len(concepts)} concepts, "
                     f"{'a chain' if lattice.is_chain else 'not a chain'}. Concepts (extent / intent): {listing}\n\n"
                     f"![lattice t={label}](figures/{files[label]})")
    sections.append(("Concept lattices (Fig. 7)", "\n\n".join(lines)))
    figures["rrc_sorted"] = rrc_figure(grid, figdir)
    sections.append(("Sorted RRC (Fig. 6)", f"![rrc](figures/{figures['rrc_sorted']})"))
    return info


def _html(title: str, sections: list[tuple[str, str]], out: Path) -> str:
    """A self-contained page: tables from the markdown, images embedded as data URIs."""
    import re

    def render(body: str) -> str:
        parts, table = [], []

        def flush():
            if table:
                cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in table if not re.fullmatch(r"[|\-: ]+", row.strip())]
                head, *rest = cells
                parts.append("<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr></thead><tbody>"
                             + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rest)
                             + "</tbody></table>")
                table.clear()

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
            flush()
            for alt, src in re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", line):
                path = out / src
                if path.is_file():
                    data = base64.b64encode(path.read_bytes()).decode()
                    parts.append(f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>')
                else:
                    parts.append(f"<p>(missing figure {html.escape(src)})</p>")
            line = re.sub(r"!\[[^\]]*\]\([^)]+\)", "", line).strip()
            if line:
                text = html.escape(line)
                text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
                text = re.sub(r"`(.+?)`", r"<code>\1</code>", text)
                parts.append(f"<p>{text}</p>")
        flush()
        return "\n".join(parts)

    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}"
             "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}"
             "img{max-width:100%}pre{background:#f6f6f6;padding:1em;overflow:auto}")
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{render(b)}" for h, b in sections)
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
