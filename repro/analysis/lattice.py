"""Formal concept analysis of the RRC grid (Sec. 3.4, Fig. 7 of the paper).

Objects G are the classifiers (the grid's COLUMNS), attributes M are the autoencoders (the grid's ROWS):
classifier j has attribute A_i when RRC(A_i∘j) >= t. A formal concept is a pair (extent, intent) with
extent' = intent and intent' = extent; ordered by inclusion of extents, the concepts form a lattice,
drawn as its Hasse diagram.

The concepts and their covers come from the FCA library ``concepts`` (a project dependency) rather than
hand-written code: measured on this 2-core machine (concepts 0.9.2, ``build_lattice`` total), a random
30x30 context of density 0.5 (3,000 to 4,600 concepts, up to 20,000 cover edges) takes 0.4 to 0.5 s; the worst
cases are output-bound for any algorithm (a 14x14 contranominal scale has 2^14 = 16,384 concepts and
takes 0.75 s; a random 30x30 context of density 0.7 has about 52,000 concepts and takes about 5 s), so a
hand-written close-by-one in Python would not beat it. Contexts with no objects or no attributes, which
``concepts`` rejects, are handled here (they have exactly one concept).

Thresholds: ``context_at(rrc, t)`` only changes when t crosses one of the distinct RRC values, so the
maximal intervals of t with one context are given by :func:`stable_intervals`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def context_at(rrc: np.ndarray, t: float) -> np.ndarray:
    """The formal context at threshold ``t``: bool of shape (n_classifiers, n_aes) = ``(rrc >= t).T``.

    Row j is classifier j (an object), column i is autoencoder A_i (an attribute).

    >>> context_at(np.array([[1.0, 0.4], [0.8, 1.0]]), 0.5).tolist()
    [[True, True], [False, True]]
    """
    a = np.asarray(rrc, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"context_at: rrc must be 2-D (AEs x classifiers), got shape {a.shape}")
    if math.isnan(t):
        raise ValueError("context_at: threshold t is NaN")
    return (a >= t).T


@dataclass(frozen=True)
class Concept:
    """A formal concept; names keep the order of the lattice's ``objects`` and ``attributes``."""

    extent: tuple[str, ...]
    intent: tuple[str, ...]


@dataclass(frozen=True)
class Lattice:
    """All formal concepts of a context with their Hasse diagram.

    ``concepts`` are sorted by extent size descending, then by the object positions of the extent
    (lexicographic), so ``concepts[0]`` is the top concept (all objects) and ``concepts[-1]`` the bottom.
    ``edges`` are the cover relations ``(lower, upper)`` as concept indices: lower's extent is a proper
    subset of upper's with no concept in between.

    >>> lat = build_lattice(np.array([[1, 0], [0, 1], [1, 1]], bool), ["a", "b", "c"], ["x", "y"])
    >>> [(c.extent, c.intent) for c in lat.concepts]
    [(('a', 'b', 'c'), ()), (('a', 'c'), ('x',)), (('b', 'c'), ('y',)), (('c',), ('x', 'y'))]
    >>> lat.edges
    ((1, 0), (2, 0), (3, 1), (3, 2))
    >>> lat.is_chain, lat.object_concept("a"), lat.attribute_concept("y")
    (False, 1, 2)
    """

    objects: tuple[str, ...]
    attributes: tuple[str, ...]
    concepts: tuple[Concept, ...]
    edges: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.concepts)

    @property
    def top(self) -> int:
        """Index of the top concept (extent = all objects)."""
        return 0

    @property
    def bottom(self) -> int:
        """Index of the bottom concept (intent = all attributes)."""
        return len(self.concepts) - 1

    def leq(self, a: int, b: int) -> bool:
        """Concept ``a`` <= concept ``b`` (a's extent is a subset of b's)."""
        return set(self.concepts[a].extent) <= set(self.concepts[b].extent)

    @property
    def is_chain(self) -> bool:
        """Every two concepts are comparable (the lattice is a total order).

        Concepts are sorted by extent size, so it is a chain exactly when each extent contains the next.
        A one-concept lattice is a chain (``all([])``), trivially: claims that read a chain as an order
        of the classifiers require two concepts (repro.claims.preconditions, "two_concepts").
        """
        exts = [set(c.extent) for c in self.concepts]
        return all(b < a for a, b in zip(exts, exts[1:]))

    def object_concept(self, g: str) -> int:
        """Index of the object concept of ``g`` (the smallest concept whose extent has ``g``): where the
        object's label goes in a reduced labelling."""
        if g not in self.objects:
            raise KeyError(f"unknown object {g!r}; objects are {self.objects}")
        return min((k for k, c in enumerate(self.concepts) if g in c.extent), key=lambda k: len(self.concepts[k].extent))

    def attribute_concept(self, m: str) -> int:
        """Index of the attribute concept of ``m`` (the largest concept whose intent has ``m``): where the
        attribute's label goes in a reduced labelling."""
        if m not in self.attributes:
            raise KeyError(f"unknown attribute {m!r}; attributes are {self.attributes}")
        return min((k for k, c in enumerate(self.concepts) if m in c.intent), key=lambda k: len(self.concepts[k].intent))


def _check_names(kind: str, names: Sequence[str], n: int) -> tuple[str, ...]:
    out = tuple(str(x) for x in names)
    if len(out) != n:
        raise ValueError(f"build_lattice: {n} {kind} in the incidence but {len(out)} names given")
    if len(set(out)) != len(out):
        raise ValueError(f"build_lattice: duplicate {kind} names: {out}")
    return out


def build_lattice(incidence: np.ndarray, objects: Sequence[str], attributes: Sequence[str]) -> Lattice:
    """All formal concepts of ``incidence`` (objects x attributes, bool) and their Hasse diagram.

    >>> lat = build_lattice(np.array([[True, True], [True, False]]), ["V", "R"], ["A_V", "A_R"])
    >>> [c.extent for c in lat.concepts], lat.is_chain
    ([('V', 'R'), ('V',)], True)
    >>> build_lattice(np.zeros((2, 0), bool), ["V", "R"], []).concepts
    (Concept(extent=('V', 'R'), intent=()),)
    """
    inc = np.asarray(incidence)
    if inc.ndim != 2:
        raise ValueError(f"build_lattice: incidence must be 2-D (objects x attributes), got shape {inc.shape}")
    if inc.dtype != bool:
        if not np.all(np.isin(inc, (0, 1))):
            raise ValueError("build_lattice: incidence must be boolean (or 0/1)")
        inc = inc.astype(bool)
    objs = _check_names("objects", objects, inc.shape[0])
    attrs = _check_names("attributes", attributes, inc.shape[1])
    return _lattice(np.ascontiguousarray(inc).tobytes(), inc.shape, objs, attrs)


@functools.lru_cache(maxsize=512)
def _lattice(bits: bytes, shape: tuple[int, int], objs: tuple[str, ...], attrs: tuple[str, ...]) -> Lattice:
    """:func:`build_lattice` of a checked context, remembered: the claims report builds the lattices of
    every bootstrap resample (8,131 builds at 1,000 resamples on the smoke run), and the resamples give
    few distinct contexts (47 there, 8 on the cpu run). Measured under cProfile beside a training job:
    the builds took 5.5 s of the smoke report's 18 s of claims. A Lattice is frozen: callers share one."""
    inc = np.frombuffer(bits, dtype=bool).reshape(shape)
    if not objs or not attrs:
        # ``concepts`` rejects empty object/attribute sets; such a context has a single concept.
        return Lattice(objs, attrs, (Concept(objs, attrs),), ())

    import concepts as fca  # imported here: only this function needs it

    ctx = fca.Context(objs, attrs, [tuple(bool(v) for v in row) for row in inc])
    lat = ctx.lattice
    obj_pos = {g: k for k, g in enumerate(objs)}
    keys = [(-len(c.extent), tuple(obj_pos[g] for g in c.extent)) for c in lat]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    new_index = {old: new for new, old in enumerate(order)}
    src = list(lat)
    attr_pos = {m: k for k, m in enumerate(attrs)}
    result = []
    for old in order:
        c = src[old]
        result.append(
            Concept(
                tuple(sorted(c.extent, key=obj_pos.__getitem__)),
                tuple(sorted(c.intent, key=attr_pos.__getitem__)),
            )
        )
    edges = sorted((new_index[c.index], new_index[u.index]) for c in src for u in c.upper_neighbors)
    return Lattice(objs, attrs, tuple(result), tuple(edges))


def stable_intervals(rrc: np.ndarray) -> list[tuple[float, float]]:
    """The maximal intervals of t with one context: ``(low, high)`` means ``low < t <= high``.

    The bounds are the sorted distinct RRC values; the first interval starts at -inf (every pair passes),
    the last ends at +inf (no pair passes).

    >>> stable_intervals(np.array([[1.0, 0.4], [0.8, 1.0]]))
    [(-inf, 0.4), (0.4, 0.8), (0.8, 1.0), (1.0, inf)]
    """
    a = np.asarray(rrc, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"stable_intervals: rrc must be 2-D (AEs x classifiers), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("stable_intervals: rrc has non-finite values")
    bounds = [-math.inf, *(float(v) for v in np.unique(a)), math.inf]
    return list(zip(bounds[:-1], bounds[1:]))


def interval_of(intervals: Sequence[tuple[float, float]], t: float) -> tuple[float, float]:
    """The interval ``(low, high)`` of ``intervals`` with ``low < t <= high`` (t = -inf: the first one).

    >>> interval_of(stable_intervals(np.array([[1.0, 0.4], [0.8, 1.0]])), 0.5)
    (0.4, 0.8)
    """
    if math.isnan(t):
        raise ValueError("interval_of: t is NaN")
    for lo, hi in intervals:
        if lo < t <= hi or (t == lo == -math.inf):
            return (lo, hi)
    raise ValueError(f"interval_of: no interval contains t = {t}")


def representative_t(interval: tuple[float, float]) -> float:
    """A threshold inside ``interval``: its upper end, or ``low + 1`` for the last (unbounded) one.

    >>> representative_t((0.4, 0.8)), representative_t((1.0, math.inf)), representative_t((-math.inf, math.inf))
    (0.8, 2.0, 0.0)
    """
    lo, hi = interval
    if math.isfinite(hi):
        return hi
    return lo + 1.0 if math.isfinite(lo) else 0.0


def lattices_by_interval(
    rrc: np.ndarray, ae_names: Sequence[str], classifier_names: Sequence[str]
) -> list[tuple[tuple[float, float], Lattice]]:
    """One lattice per stable interval of t, in increasing t.

    >>> [(iv, len(lat)) for iv, lat in lattices_by_interval(np.array([[1.0, 0.4], [0.8, 1.0]]), ["A_X", "A_Y"], ["X", "Y"])]
    [((-inf, 0.4), 1), ((0.4, 0.8), 2), ((0.8, 1.0), 4), ((1.0, inf), 2)]
    """
    return [
        (iv, build_lattice(context_at(rrc, representative_t(iv)), classifier_names, ae_names))
        for iv in stable_intervals(rrc)
    ]
