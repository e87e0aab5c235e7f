"""The claim machinery on synthetic results: verdicts, 'not measured', bootstrap support, the report."""

from __future__ import annotations

import numpy as np
import pytest

from repro.claims import CLAIMS, evaluate
from repro.results import Results, encode_bits

KEYS = ["L", "A", "V", "I", "R"]


def synthetic(n=2000, seed=0, gap=0.05, with_bits=True) -> Results:
    """Classifiers alone at 0.6..0.8; A_S costs `gap`; each A_i gains 0.01 on its own classifier."""
    rng = np.random.default_rng(seed)
    base = dict(zip(KEYS, [0.6, 0.65, 0.75, 0.8, 0.78]))
    probs = {"none": base, "A_S": {c: v - gap for c, v in base.items()}}
    for i in KEYS:
        probs[f"A_{i}"] = {j: (base[j] + 0.01 if j == i else base[j] * (0.95 if i == "V" else 0.5)) for j in KEYS}
    bits = {ae: {c: rng.random(n) < p for c, p in row.items()} for ae, row in probs.items()}
    top1 = {ae: {c: float(b.mean()) for c, b in row.items()} for ae, row in bits.items()}
    raw = {"schema_version": 1, "scale": "synthetic", "classifiers": KEYS, "n_test": n,
           "accuracy": {"top1": top1, "top5": {}}}
    if with_bits:
        raw["per_image"] = {"top1": {ae: {c: encode_bits(b) for c, b in row.items()} for ae, row in bits.items()}}
    return Results.from_dict(raw)


def by_id(verdicts):
    return {v.id: v for v in verdicts}


def test_without_measurements_claims_are_not_measured():
    v = by_id(evaluate(synthetic(with_bits=False)))
    assert v["noise.falls"].verdict == "not measured"
    assert v["nmi.order_intra"].verdict == "not measured"
    assert v["colour.av_smallest"].verdict == "not measured"
    assert v["table1.as_below"].verdict == "holds"
    assert v["table1.as_below"].interval is None  # no per-image data, no bootstrap, and the report says why
    assert "no per-image data" in v["table1.as_below"].no_interval


def test_bootstrap_support_and_interval():
    v = by_id(evaluate(synthetic(gap=0.1), resamples=200))
    big = v["table1.as_below"]
    assert big.verdict == "holds" and big.support == 1.0
    lo, hi = big.interval
    assert lo <= big.value <= hi


def crafted(n: int, alone: int, gain: int) -> Results:
    """Each classifier right on the first `alone` images; with its own A_i on `gain` more."""
    def bits(k):
        return encode_bits(np.arange(n) < k)
    per = {"none": {c: bits(alone) for c in KEYS}, "A_S": {c: bits(alone - 10) for c in KEYS}}
    for i in KEYS:
        per[f"A_{i}"] = {j: bits(alone + gain if j == i else alone // 2) for j in KEYS}
    top1 = {ae: {c: 0.0 for c in row} for ae, row in per.items()}  # recomputed below from the bits
    raw = {"schema_version": 1, "scale": "crafted", "classifiers": KEYS, "n_test": n,
           "accuracy": {"top1": top1}, "per_image": {"top1": per}}
    r = Results.from_dict(raw)
    r.top1 = {ae: {c: float(b.mean()) for c, b in row.items()} for ae, row in r.per_image.items()}
    return r


def test_small_effect_is_inconclusive():
    # A_i∘i beats i on one image of 300: a resample keeps that image with probability 1 - (1 - 1/300)^300 = 0.63,
    # below the 95% that "holds" needs (issue 9: "holds (within uncertainty)" no longer exists).
    v = by_id(evaluate(crafted(300, 180, 1), resamples=400))["table1.ai_surpasses_most"]
    assert v.point and v.holds is None
    assert v.support == pytest.approx(0.63, abs=0.08)
    assert v.verdict == "inconclusive" and "needs >= 95%" in v.detail
    clear = by_id(evaluate(crafted(300, 180, 40), resamples=400))["table1.ai_surpasses_most"]
    assert clear.verdict == "holds" and clear.support == 1.0


def test_fails_needs_the_same_support_as_holds():
    # A_i∘i one image below i: fails on the measured numbers, but a resample drops that image with
    # probability 0.37, and then A_i∘i ties i (inconclusive in that resample): not >= 95% failing.
    weak = by_id(evaluate(crafted(300, 180, -1), resamples=400))["table1.ai_surpasses_most"]
    assert weak.point is False and weak.verdict == "inconclusive"
    clear = by_id(evaluate(crafted(300, 180, -40), resamples=400))["table1.ai_surpasses_most"]
    assert clear.verdict == "fails" and clear.holds is False and clear.support == 0.0


def test_same_seed_same_verdicts():
    a = [x.to_dict() for x in evaluate(synthetic(), resamples=50)]
    b = [x.to_dict() for x in evaluate(synthetic(), resamples=50)]
    assert a == b


def test_registry_ids_are_unique_and_documented():
    for cid, c in CLAIMS.items():
        assert c.section and c.statement and c.paper and c.tolerance, cid


def test_report_is_deterministic(tmp_path):
    from repro.report import build_report

    results = synthetic(n=500)
    build_report(results, tmp_path / "a", resamples=50)
    build_report(results, tmp_path / "b", resamples=50)
    for name in ("claims.md", "claims.json", "claims.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_fewer_than_five_classifiers_is_not_measured():
    # Issue 9: a claim speaks about all five of L, A, V, I, R; over a subset it is another statement.
    four = synthetic(with_bits=False)
    four.classifiers = ["L", "A", "V", "I"]
    v = by_id(evaluate(four))
    assert {x.verdict for x in v.values()} == {"not measured"}
    assert "R" in v["fca.av_keeps_80"].detail and "R" in v["table1.as_below"].detail


def test_every_tested_quantity_gets_an_interval():
    # Issue 9: the interval is that of the quantity the predicate tests; a range claim tests both ends.
    v = by_id(evaluate(synthetic(gap=0.02), resamples=100))
    drop = v["table1.as_drop_range"]
    assert set(drop.intervals) == {"smallest drop (points)", "largest drop (points)"}
    for name, (lo, hi) in drop.intervals.items():
        assert lo <= drop.quantities[name] <= hi
    for x in v.values():
        if x.verdict != "not measured":
            assert set(x.intervals) == set(x.quantities) or x.no_interval, x.id
