"""Checks a results.json against its schema (documented in :mod:`repro.results`) before anything reads it.

A malformed file (``[]``, ``null``, a string where an accuracy belongs, a row without one of the listed
classifiers, bit strings that are not base64) used to surface as a KeyError or TypeError deep inside a
claim; :func:`check_results` turns each into one line naming the file and the JSON path at fault::

    results.json: accuracy.top1.A_S.V: expected a number in [0, 1], got "x"

The required core (``schema_version``, ``classifiers``, ``n_test``, ``accuracy``, and ``per_image``
when present: its ``top1`` and ``top5`` bits) is checked strictly. The optional measurement sections are
checked loosely: the numbers the claims read (``noise`` levels and curves, the ``nmi`` tables, the
``lab`` statistics) must be numbers (base64 text allowed under keys containing ``per_image``); other
keys, unknown top-level sections and the rest of ``per_image`` (:mod:`repro.per_image` decodes it) are
accepted, so that a newer writer can add fields without breaking this reader. ``scale`` is optional (``Results`` then says
"unknown"; tests build results without it).

Hand-written rather than a JSON Schema run by the jsonschema package: the checks that matter most are
cross-references a JSON Schema cannot state (every accuracy row has exactly the listed classifiers;
every bit string decodes to ceil(n_test / 8) bytes), and the rest is a few lines.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from repro.errors import ReproError

SCHEMA_VERSION = 2  # the side file of per_image is a way of storing version 2, not a new version
READABLE_VERSIONS = (1, 2)  # version 1: no per-image values beyond top-1, no nMI baseline (see repro.results)

FIX = "; fix it, or rewrite it with `repro evaluate --force --out RUN_FOLDER`"


def _encoded(key: str) -> bool:
    """Keys whose values are encoded per-image data (base64 text), exempt from the "tree of numbers"
    check of the optional sections: ``encoding`` and any key containing ``per_image``.

    >>> _encoded("per_image"), _encoded("per_image_top1"), _encoded("top1")
    (True, True, False)
    """
    return key == "encoding" or "per_image" in key


# The nMI tables the claims and the report read (repro.results); the section's other keys (bins, seeds,
# method names) are not checked.
NMI_TABLES = ("intra", "inter", "baseline", "corrected")


class _Bad(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path, self.problem = path, problem


def check_results(data: Any, origin: str = "results.json") -> None:
    """Raise :class:`ReproError` naming ``origin`` and the JSON path of the first problem in ``data``.

    >>> ok = {"schema_version": 1, "classifiers": ["L"], "n_test": 3, "accuracy": {"top1": {"none": {"L": 0.5}}}}
    >>> check_results(ok)
    >>> bad = {**ok, "accuracy": {"top1": {"A_S": {"L": "x"}}}}
    >>> check_results(bad)
    Traceback (most recent call last):
    ...
    repro.errors.ReproError: results.json: accuracy.top1.A_S.L: expected a number in [0, 1], got "x"; fix it, ...
    """
    try:
        _check(data)
    except _Bad as bad:
        where = f"{origin}: {bad.path}: " if bad.path else f"{origin}: "
        raise ReproError(where + bad.problem + FIX) from None


def _show(value: Any, limit: int = 40) -> str:
    """A value as JSON text, shortened.

    >>> _show("x"), _show(None), _show(list(range(30)))
    ('"x"', 'null', '[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11...')
    """
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _join(path: str, key: str | int) -> str:
    """
    >>> _join("", "accuracy"), _join("accuracy", "top1"), _join("noise.levels", 2)
    ('accuracy', 'accuracy.top1', 'noise.levels[2]')
    """
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _object(value: Any, path: str, what: str = "an object") -> dict:
    if not isinstance(value, dict):
        raise _Bad(path, f"expected {what}, got {_show(value)}")
    return value


def _required(obj: dict, key: str, path: str) -> Any:
    if key not in obj:
        raise _Bad(_join(path, key), "missing (a required field)")
    return obj[key]


def _fraction(value: Any, path: str) -> float:
    if not (_is_number(value) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise _Bad(path, f"expected a number in [0, 1], got {_show(value)}")
    return float(value)


def _check(data: Any) -> None:
    root = _object(data, "", "a JSON object at the top level (what `repro evaluate` writes)")
    version = _required(root, "schema_version", "")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise _Bad("schema_version", f"this repro reads versions {', '.join(map(str, READABLE_VERSIONS))}, got {_show(version)}")
    if "scale" in root and not (isinstance(root["scale"], str) and root["scale"]):
        raise _Bad("scale", f"expected the scale's name, got {_show(root['scale'])}")

    classifiers = _required(root, "classifiers", "")
    if not (isinstance(classifiers, list) and classifiers and all(isinstance(c, str) and c for c in classifiers)):
        raise _Bad("classifiers", f"expected a non-empty list of classifier keys, got {_show(classifiers)}")
    if len(set(classifiers)) != len(classifiers):
        raise _Bad("classifiers", f"a classifier is listed twice: {_show(classifiers)}")

    n_test = _required(root, "n_test", "")
    if not (isinstance(n_test, int) and not isinstance(n_test, bool) and n_test >= 1):
        raise _Bad("n_test", f"expected the number of test images (an integer >= 1), got {_show(n_test)}")

    accuracy = _object(_required(root, "accuracy", ""), "accuracy")
    _accuracy_table(_required(accuracy, "top1", "accuracy"), "accuracy.top1", classifiers, required=True)
    if "top5" in accuracy:
        _accuracy_table(accuracy["top5"], "accuracy.top5", classifiers, required=False)

    if root.get("per_image"):  # absent, null or {}: no per-image data (no bootstrap intervals)
        _per_image(root["per_image"], classifiers, n_test)

    if root.get("noise") is not None:
        _noise(_object(root["noise"], "noise"))
    if root.get("nmi") is not None:
        nmi = _object(root["nmi"], "nmi")
        for key in NMI_TABLES:
            if key in nmi:
                _numbers_tree(_object(nmi[key], _join("nmi", key)), _join("nmi", key))
    if root.get("lab") is not None:
        for ae, stats in _object(root["lab"], "lab").items():
            _numbers_tree(_object(stats, _join("lab", ae), "an object of statistics"), _join("lab", ae))
    if root.get("figures") is not None:
        for key, rel in _object(root["figures"], "figures").items():
            if not isinstance(rel, str):
                raise _Bad(_join("figures", key), f"expected a file name relative to results.json, got {_show(rel)}")


def _accuracy_table(table: Any, path: str, classifiers: list[str], required: bool) -> None:
    """``{ae: {classifier: fraction}}``; every row gives every listed classifier, and only those."""
    rows = _object(table, path, "an object of rows {autoencoder: {classifier: accuracy}}")
    if required and not rows:
        raise _Bad(path, "no accuracies (an empty object)")
    for ae, row in rows.items():
        row_path = _join(path, ae)
        row = _object(row, row_path, "an object {classifier: accuracy}")
        for c in classifiers:
            if c not in row:
                raise _Bad(row_path, f"no accuracy for classifier {c!r} (listed in classifiers)")
            _fraction(row[c], _join(row_path, c))
        for c in row:
            if c not in classifiers:
                raise _Bad(_join(row_path, c), f"classifier {c!r} is not listed in classifiers {_show(classifiers)}")


def _per_image(section: Any, classifiers: list[str], n_test: int) -> None:
    """``top1`` (required) and ``top5``: ``{ae: {classifier: base64 of the packed correctness bits of the
    n_test images}}``."""
    section = _object(section, "per_image")
    if "encoding" in section and not isinstance(section["encoding"], str):
        raise _Bad("per_image.encoding", f"expected a description of the encoding, got {_show(section['encoding'])}")
    _required(section, "top1", "per_image")
    n_bytes = (n_test + 7) // 8  # numpy.packbits pads the last byte
    for metric in ("top1", "top5"):
        if metric in section:
            _bits_table(section[metric], _join("per_image", metric), classifiers, n_test, n_bytes)
    _per_image_values(section, n_test)


def _per_image_values(section: dict, n_test: int) -> None:
    """Schema 2's ``per_image.noise``, ``.nmi`` and ``.lab`` (layout in repro.results): bit strings of
    the right length and repro.per_image array records of the right shape (decoded by repro.per_image)."""
    units = (n_test + 1) // 2  # repro.per_image.n_units: pairs of consecutive test images
    noise = section.get("noise")
    if noise is not None:
        noise = _object(noise, "per_image.noise")
        m, levels = noise.get("n_images"), noise.get("levels")
        if not (isinstance(m, int) and 1 <= m <= n_test):
            raise _Bad("per_image.noise.n_images", f"expected the number of swept images (1..n_test), got {_show(m)}")
        if not (isinstance(levels, int) and levels >= 1):
            raise _Bad("per_image.noise.levels", f"expected the number of noise levels, got {_show(levels)}")
        for metric in ("top1", "top5"):
            for g, row in _object(noise.get(metric, {}), _join("per_image.noise", metric)).items():
                # bits of (levels x n_images), level-major; any classifier key (A_<key> holds only <key>)
                _bits_table({g: row}, _join("per_image.noise", metric), list(row) if isinstance(row, dict) else [],
                            levels * m, (levels * m + 7) // 8)
    nmi = section.get("nmi")
    if nmi is not None:
        nmi = _object(nmi, "per_image.nmi")
        for name, rec in _object(_required(nmi, "entropy", "per_image.nmi"), "per_image.nmi.entropy").items():
            _array_record(rec, _join("per_image.nmi.entropy", name), [n_test])
        for kind, length in (("intra", n_test), ("inter", n_test // 2)):
            part = _object(_required(nmi, kind, "per_image.nmi"), _join("per_image.nmi", kind))
            for key in ("mi", "mi_shuffled"):
                path = _join(_join("per_image.nmi", kind), key)
                for name, rec in _object(_required(part, key, path.rsplit(".", 1)[0]), path).items():
                    _array_record(rec, _join(path, name), [length])
    lab = section.get("lab")
    if lab is not None:
        lab = _object(lab, "per_image.lab")
        for key in ("columns", "original_columns"):
            cols = _required(lab, key, "per_image.lab")
            if not (isinstance(cols, list) and all(isinstance(c, str) for c in cols)):
                raise _Bad(_join("per_image.lab", key), f"expected a list of column names, got {_show(cols)}")
        for name, rec in _object(_required(lab, "sums", "per_image.lab"), "per_image.lab.sums").items():
            width = len(lab["original_columns"] if name == "original" else lab["columns"])
            _array_record(rec, _join("per_image.lab.sums", name), [units, width])
        for name, sides in _object(_required(lab, "L_tails", "per_image.lab"), "per_image.lab.L_tails").items():
            for side, tail in _object(sides, _join("per_image.lab.L_tails", name)).items():
                path = _join(_join("per_image.lab.L_tails", name), side)
                tail = _object(tail, path)
                if not isinstance(tail.get("first_bin"), int):
                    raise _Bad(_join(path, "first_bin"), f"expected a bin index, got {_show(tail.get('first_bin'))}")
                _array_record(_required(tail, "counts", path), _join(path, "counts"), [units, None])


def _array_record(rec: Any, path: str, shape: list[int | None]) -> None:
    """A repro.per_image.encode_array / encode_counts record of ``shape`` (None: any length there)."""
    rec = _object(rec, path, 'an array record {"dtype", "shape", "zlib_base64"}')
    if rec.get("dtype") not in ("uint8", "uint16", "uint32", "uint64"):
        raise _Bad(_join(path, "dtype"), f"expected an unsigned integer type, got {_show(rec.get('dtype'))}")
    got = rec.get("shape")
    if not (isinstance(got, list) and len(got) == len(shape) and all(isinstance(g, int) and (e is None or g == e)
                                                                      for g, e in zip(got, shape))):
        raise _Bad(_join(path, "shape"), f"expected shape {_show(shape)}, got {_show(got)}")
    for key in ("offset", "step"):  # one number, or one per column of a matrix
        value = rec.get(key, 0.0)
        numbers = value if isinstance(value, list) and len(shape) == 2 and len(value) == got[1] else [value]
        if not all(_is_number(v) and math.isfinite(v) for v in numbers):
            raise _Bad(_join(path, key), f"expected a number (one per column for a matrix), got {_show(value)}")
    data = rec.get("zlib_base64")
    try:
        base64.b64decode(data, validate=True) if isinstance(data, str) else None
    except (binascii.Error, ValueError):
        data = None
    if not isinstance(data, str):
        raise _Bad(_join(path, "zlib_base64"), "expected base64 text of the compressed array")


def _bits_table(table: Any, path: str, classifiers: list[str], n_test: int, n_bytes: int) -> None:
    for ae, row in _object(table, path).items():
        row_path = _join(path, ae)
        for c, bits in _object(row, row_path, "an object {classifier: base64 bits}").items():
            where = _join(row_path, c)
            if c not in classifiers:
                raise _Bad(where, f"classifier {c!r} is not listed in classifiers {_show(classifiers)}")
            if not isinstance(bits, str):
                raise _Bad(where, f"expected base64 text, got {_show(bits)}")
            try:
                raw = base64.b64decode(bits, validate=True)
            except (binascii.Error, ValueError):
                raise _Bad(where, f"not valid base64: {_show(bits)}") from None
            if len(raw) != n_bytes:
                raise _Bad(where, f"{len(raw)} bytes of bits, expected {n_bytes} for n_test {n_test}")


def _noise(section: dict) -> None:
    """Loosely: ``levels`` a list of numbers; ``top1``/``top5`` ``{ae: {classifier: [accuracy per level]}}``;
    other keys are not checked."""
    levels = section.get("levels")
    if levels is not None:
        if not isinstance(levels, list) or not all(_is_number(s) and math.isfinite(s) for s in levels):
            raise _Bad("noise.levels", f"expected a list of numbers, got {_show(levels)}")
    for metric in ("top1", "top5"):
        if section.get(metric) is None:
            continue
        path = _join("noise", metric)
        for ae, row in _object(section[metric], path).items():
            row_path = _join(path, ae)
            for c, curve in _object(row, row_path).items():
                where = _join(row_path, c)
                if not isinstance(curve, list):
                    raise _Bad(where, f"expected a list of accuracies, one per noise level, got {_show(curve)}")
                for k, acc in enumerate(curve):
                    _fraction(acc, _join(where, k))
                if levels is not None and len(curve) != len(levels):
                    raise _Bad(where, f"{len(curve)} accuracies for {len(levels)} noise levels")


def _numbers_tree(value: Any, path: str) -> None:
    """Numbers (or true/false/null) in nested objects and lists; text only under encoded keys (_encoded).

    >>> _numbers_tree({"a": {"b": [1, 2.5, None]}, "per_image": {"A_S": "AAE="}}, "lab")
    >>> _numbers_tree({"a": {"b": "1"}}, "lab")
    Traceback (most recent call last):
    ...
    repro.schema._Bad: ('lab.a.b', 'expected a number, got "1"')
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if not _encoded(str(key)):
                _numbers_tree(item, _join(path, key))
    elif isinstance(value, list):
        for k, item in enumerate(value):
            _numbers_tree(item, _join(path, k))
    elif not (value is None or isinstance(value, (bool, int, float))):
        raise _Bad(path, f"expected a number, got {_show(value)}")
