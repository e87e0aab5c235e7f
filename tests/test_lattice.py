"""Formal concept analysis of the RRC grid (Sec. 3.4, Fig. 7): concepts, Hasse diagram, t intervals."""

import itertools
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from repro.analysis.lattice import (
    Lattice,
    build_lattice,
    context_at,
    interval_of,
    lattices_by_interval,
    representative_t,
    stable_intervals,
)
from repro.analysis.rrc import rrc
from repro.paper import paper_table2

# The paper's Table 2 (top-1 of A_i∘j; rows A_L, A_A, A_V, A_I, A_R; columns L, A, V, I, R).
TABLE2 = paper_table2().values  # paper_claims/data/table2.csv
NAMES = ["L", "A", "V", "I", "R"]
AES = [f"A_{n}" for n in NAMES]

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def contexts(draw, max_side=6):
    n = draw(st.integers(0, max_side))
    m = draw(st.integers(0, max_side))
    inc = draw(hnp.arrays(bool, (n, m)))
    return inc, [f"g{k}" for k in range(n)], [f"m{k}" for k in range(m)]


def derive_objects(inc, ext_idx):
    """A' : attributes shared by all objects in A."""
    return frozenset(m for m in range(inc.shape[1]) if all(inc[g, m] for g in ext_idx))


def derive_attributes(inc, int_idx):
    """B' : objects having all attributes in B."""
    return frozenset(g for g in range(inc.shape[0]) if all(inc[g, m] for m in int_idx))


def index_sets(lat: Lattice):
    gpos = {g: k for k, g in enumerate(lat.objects)}
    mpos = {m: k for k, m in enumerate(lat.attributes)}
    return [(frozenset(gpos[g] for g in c.extent), frozenset(mpos[m] for m in c.intent)) for c in lat.concepts]


@SETTINGS
@given(contexts())
def test_concepts_closed_and_complete(ctx):
    inc, objs, attrs = ctx
    lat = build_lattice(inc, objs, attrs)
    sets = index_sets(lat)
    for ext, itt in sets:
        assert derive_objects(inc, ext) == itt
        assert derive_attributes(inc, itt) == ext
    # complete: every closure A'' of a set of objects is an extent (brute force over all subsets)
    expected = {derive_attributes(inc, derive_objects(inc, sub)) for r in range(inc.shape[0] + 1) for sub in itertools.combinations(range(inc.shape[0]), r)}
    assert {e for e, _ in sets} == expected
    assert len(sets) == len(expected)  # no duplicates


@SETTINGS
@given(contexts())
def test_order_is_transitive_closure_of_cover_edges(ctx):
    inc, objs, attrs = ctx
    lat = build_lattice(inc, objs, attrs)
    exts = [e for e, _ in index_sets(lat)]
    n = len(exts)
    leq = np.array([[exts[a] <= exts[b] for b in range(n)] for a in range(n)])
    reach = np.eye(n, dtype=bool)
    for lo, up in lat.edges:
        assert exts[lo] < exts[up]
        reach[lo, up] = True
    for k in range(n):  # Warshall
        reach |= reach[:, [k]] & reach[[k], :]
    assert (reach == leq).all()
    for lo, up in lat.edges:  # covers: nothing strictly in between
        assert not any(exts[lo] < exts[k] < exts[up] for k in range(n))
    assert len(set(lat.edges)) == len(lat.edges)
    assert all(lat.leq(a, b) == leq[a, b] for a in range(n) for b in range(n))


@SETTINGS
@given(contexts())
def test_is_chain_and_order_and_labels(ctx):
    inc, objs, attrs = ctx
    lat = build_lattice(inc, objs, attrs)
    sets = index_sets(lat)
    exts = [e for e, _ in sets]
    comparable = all(a <= b or b <= a for a, b in itertools.combinations(exts, 2))
    assert lat.is_chain == comparable
    # deterministic order: extent size descending, then object positions
    keys = [(-len(e), tuple(sorted(e))) for e in exts]
    assert keys == sorted(keys)
    assert exts[lat.top] == frozenset(range(len(objs)))
    assert sets[lat.bottom][1] == frozenset(range(len(attrs)))
    for gi, g in enumerate(objs):  # object concept: (g'', g')
        assert sets[lat.object_concept(g)][1] == derive_objects(inc, {gi})
    for mi, m in enumerate(attrs):  # attribute concept: (m', m'')
        assert sets[lat.attribute_concept(m)][0] == derive_attributes(inc, {mi})
    # names keep the given order
    for c in lat.concepts:
        assert list(c.extent) == [g for g in objs if g in c.extent]
        assert list(c.intent) == [m for m in attrs if m in c.intent]


def test_build_is_deterministic_and_validates():
    inc = np.array([[1, 0, 1], [0, 1, 1]], dtype=bool)
    assert build_lattice(inc, ["a", "b"], ["x", "y", "z"]) == build_lattice(inc.copy(), ("a", "b"), ("x", "y", "z"))
    with pytest.raises(ValueError, match="duplicate objects"):
        build_lattice(inc, ["a", "a"], ["x", "y", "z"])
    with pytest.raises(ValueError, match="3 attributes in the incidence but 2"):
        build_lattice(inc, ["a", "b"], ["x", "y"])
    with pytest.raises(ValueError, match="boolean"):
        build_lattice(np.array([[2, 0]]), ["a"], ["x", "y"])
    with pytest.raises(KeyError):
        build_lattice(inc, ["a", "b"], ["x", "y", "z"]).object_concept("q")


def test_30x30_context_is_fast():
    # A regression guard, loose for a shared CPU: measured about 0.4 s here (see the module docstring).
    inc = np.random.default_rng(0).random((30, 30)) < 0.5
    t = time.perf_counter()
    lat = build_lattice(inc, [f"g{k}" for k in range(30)], [f"m{k}" for k in range(30)])
    assert time.perf_counter() - t < 5.0
    assert len(lat) > 1000
    sets = index_sets(lat)
    for ext, itt in sets[:: max(1, len(sets) // 50)]:
        assert derive_objects(inc, ext) == itt and derive_attributes(inc, itt) == ext


def test_context_at_orientation():
    r = np.array([[0.9, 0.1, 0.5]])  # one AE, three classifiers
    ctx = context_at(r, 0.5)
    assert ctx.shape == (3, 1)
    assert ctx[:, 0].tolist() == [True, False, True]


@st.composite
def rrc_grids(draw):
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 5))
    # a few distinct values so that ties are common
    return draw(hnp.arrays(float, (n, m), elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0, 1.3])))


@SETTINGS
@given(rrc_grids(), st.data())
def test_stable_intervals(r, data):
    ivs = stable_intervals(r)
    assert ivs[0][0] == -math.inf and ivs[-1][1] == math.inf
    assert all(ivs[k][1] == ivs[k + 1][0] for k in range(len(ivs) - 1))
    assert all(lo < hi for lo, hi in ivs)
    contexts_ = []
    for lo, hi in ivs:
        ref = context_at(r, representative_t((lo, hi)))
        contexts_.append(ref)
        a = max(lo, -10.0)
        b = min(hi, 10.0)
        ts = [hi if math.isfinite(hi) else b]
        ts += [data.draw(st.floats(a, b, exclude_min=True)) for _ in range(3)]
        for t in ts:
            assert (context_at(r, t) == ref).all(), (lo, hi, t)
            assert interval_of(ivs, t) == (lo, hi)
    # maximal: neighbouring intervals have different contexts
    assert all((contexts_[k] != contexts_[k + 1]).any() for k in range(len(ivs) - 1))


def test_interval_of_edges():
    ivs = stable_intervals(np.array([[0.2, 0.7]]))
    assert interval_of(ivs, -math.inf) == (-math.inf, 0.2)
    assert interval_of(ivs, 0.2) == (-math.inf, 0.2)
    assert interval_of(ivs, 0.7) == (0.2, 0.7)
    assert interval_of(ivs, math.inf) == (0.7, math.inf)
    with pytest.raises(ValueError):
        interval_of(ivs, math.nan)
    with pytest.raises(ValueError, match="non-finite"):
        stable_intervals(np.array([[np.nan]]))


def test_table2_intervals_match_the_paper():
    """Sec. 3.4: any t in [0.17, 0.52] gives one context, and so does any t in [0.66, 0.84]; both chains."""
    d = np.diag(TABLE2)
    r = rrc(TABLE2, d, d)
    ivs = stable_intervals(r)
    lows = np.array([lo for lo, _ in ivs])
    highs = np.array([hi for _, hi in ivs])
    for lo, hi in [(0.1648, 0.5249), (0.6359, 0.8407)]:
        hit = np.isclose(lows, lo, atol=1e-3) & np.isclose(highs, hi, atol=1e-3)
        assert hit.sum() == 1, (lo, hi, ivs)
        iv = ivs[int(np.flatnonzero(hit)[0])]
        lat = build_lattice(context_at(r, representative_t(iv)), NAMES, AES)
        assert lat.is_chain
    # the paper's stated ranges lie inside them
    assert interval_of(ivs, 0.17) == interval_of(ivs, 0.52)
    assert interval_of(ivs, 0.66) == interval_of(ivs, 0.84)
    assert len(lattices_by_interval(r, AES, NAMES)) == len(ivs)
