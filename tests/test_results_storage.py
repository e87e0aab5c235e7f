"""results.json keeps its per-image values in a side file (repro.results, "Where per_image lives"):
they come back unchanged, a missing or foreign side file is a one-line error naming it, a rewrite
leaves one side file, and a results.json with its per-image values inline is still read."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from repro.errors import ReproError
from repro.results import Results, encode_bits, read_results_json, write_results_json

ROOT = Path(__file__).resolve().parents[1]


def results(flip: int = -1) -> dict:
    bits = [i % 3 == 0 for i in range(10)]
    if flip >= 0:
        bits[flip] = not bits[flip]
    row = {"L": 0.4, "V": 0.7}
    return {"schema_version": 2, "scale": "smoke", "classifiers": ["L", "V"], "n_test": 10,
            "accuracy": {"top1": {"none": row, "A_S": row, "A_L": row, "A_V": row}},
            "per_image": {"top1": {ae: {c: encode_bits(bits) for c in ("L", "V")}
                                   for ae in ("none", "A_S", "A_L", "A_V")}}}


def side_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("per_image-*.json.gz"))


def test_per_image_values_round_trip_through_the_side_file(tmp_path):
    path = tmp_path / "results.json"
    data = results()
    write_results_json(path, data)
    (side,) = side_files(tmp_path)
    stored = json.loads(path.read_text())
    assert stored["per_image"]["file"] == side.name and "top1" not in stored["per_image"]
    assert json.loads(gzip.decompress(side.read_bytes())) == data["per_image"]
    assert read_results_json(path) == data
    assert Results.from_json(path).per_image["A_S"]["L"].tolist() == [i % 3 == 0 for i in range(10)]


def test_a_rewrite_leaves_one_side_file_and_equal_values_give_equal_bytes(tmp_path):
    path = tmp_path / "results.json"
    write_results_json(path, results())
    first = {p.name: p.read_bytes() for p in side_files(tmp_path)} | {"results.json": path.read_bytes()}
    write_results_json(path, results())  # the same values: byte-identical files (gzip mtime 0)
    assert {p.name: p.read_bytes() for p in side_files(tmp_path)} | {"results.json": path.read_bytes()} == first
    write_results_json(path, results(flip=4))
    (side,) = side_files(tmp_path)
    assert side.name not in first and read_results_json(path) == results(flip=4)


def test_a_missing_side_file_is_an_error_that_names_it(tmp_path):
    path = tmp_path / "results.json"
    write_results_json(path, results())
    (side,) = side_files(tmp_path)
    side.unlink()
    with pytest.raises(ReproError, match=r"per_image-[0-9a-f]{16}\.json\.gz: the per-image values that results.json "
                                         r"names cannot be read .*copy it along"):
        Results.from_json(path)


def test_a_side_file_of_other_values_is_refused(tmp_path):
    path, other = tmp_path / "results.json", tmp_path / "other" / "results.json"
    write_results_json(path, results())
    write_results_json(other, results(flip=1))
    (side,) = side_files(tmp_path)
    (foreign,) = side_files(other.parent)
    side.write_bytes(foreign.read_bytes())
    with pytest.raises(ReproError, match="its sha256 is not the one"):
        read_results_json(path)


@pytest.mark.parametrize("name", ["../results.json", "/etc/passwd", 7])
def test_the_side_file_must_lie_beside_results_json(tmp_path, name):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({**results(), "per_image": {"file": name, "sha256": "0" * 64}}))
    with pytest.raises(ReproError, match="per_image.file must name a file beside it"):
        read_results_json(path)


def test_inline_per_image_values_are_read_as_they_are(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results()))
    assert read_results_json(path) == results() and not side_files(tmp_path)


@pytest.mark.parametrize("run", ["cpu", "cpu-ceiling", "cpu-ceiling-lr1e-4"])
def test_committed_runs_keep_results_json_small(run):
    path = ROOT / "artifacts" / run / "results.json"
    if not path.is_file():
        pytest.skip(f"no committed artifacts/{run}")
    assert path.stat().st_size < 200_000  # the per-image values live in the side file
    assert all(p.stat().st_size < 2 * 2**20 for p in side_files(path.parent))  # a tracked file's limit
    assert read_results_json(path)["per_image"]["top1"]


def test_rewriting_a_results_json_read_without_its_side_file_keeps_that_file(tmp_path):
    path = tmp_path / "results.json"
    write_results_json(path, results())
    write_results_json(path, json.loads(path.read_text()))  # e.g. a section added to the plain JSON
    assert read_results_json(path) == results()
