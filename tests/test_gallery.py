"""The reconstruction gallery (repro.gallery, ``repro gallery``) and its place in the claims report.

The tests on a finished run read the session's smoke run (tests/conftest.py's ``smoke_run``) and are slow
(the run takes about 1.5 min); a test that writes into the run folder works on a copy. The errors of a
folder without checkpoints need no run: a results.json recording the smoke configuration is enough.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from repro.cli import main
from repro.config import scale_config
from repro.data import eval_loader
from repro.gallery import ORIGINAL, GalleryConfig, make_gallery, reconstruct, run_context
from repro.results import Results

COLUMNS = ["original", "A_S", "A_L", "A_A", "A_V", "A_I", "A_R"]


def _results_only(folder: Path) -> Path:
    """A run folder holding a results.json that records the smoke configuration, and no checkpoints (as a
    committed report folder)."""
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"provenance": {"config": scale_config("smoke").to_dict()}}))
    return folder


def _one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_folder_without_checkpoints_is_one_line_naming_them_and_the_command(tmp_path, capsys):
    run = _results_only(tmp_path / "report")
    err = _one_line_error(capsys, ["gallery", str(run)])
    assert f"{run / 'ckpt'}: missing" in err and f"`repro run --scale smoke --out {run}`" in err
    assert not (run / "figures").exists()

    (run / "ckpt").mkdir()  # checkpoints of another run, or none of this one's: the first one missing is named
    err = _one_line_error(capsys, ["gallery", str(run)])
    assert f"{run / 'ckpt' / 'pretrain' / 'A_S'}/" in err and "/model.pt: missing" in err
    assert f"`repro run --scale smoke --out {run}`" in err


def test_a_folder_without_results_and_bad_options_are_one_line(tmp_path, capsys):
    assert "results.json: missing" in _one_line_error(capsys, ["gallery", str(tmp_path)])
    assert "no such run folder" in _one_line_error(capsys, ["gallery", str(tmp_path / "nowhere")])
    assert "--images 0" in _one_line_error(capsys, ["gallery", str(tmp_path), "--images", "0"])
    assert "is a folder" in _one_line_error(capsys, ["gallery", str(tmp_path), "--out", str(tmp_path)])


@pytest.mark.slow
def test_the_png_has_a_row_per_image_and_a_column_per_autoencoder(smoke_run, tmp_path):
    ctx = run_context(smoke_run)
    png = tmp_path / "g" / "gallery.png"
    gallery, fig = make_gallery(ctx, png, GalleryConfig(images=3, seed=1))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(png.parent.glob(".*.tmp"))  # written atomically: no temporary file left
    assert gallery.columns == COLUMNS and gallery.shape == (3, 7)
    assert len(fig.axes) == 2 * 3 * 7  # each picture and its enlarged centre under it
    assert [ax.get_title() for ax in fig.axes[:7]] == COLUMNS
    for name in COLUMNS:
        pictures = gallery.pictures[name]
        assert pictures.shape == (3, 32, 32, 3) and pictures.dtype == np.float32
        assert 0 <= pictures.min() and pictures.max() <= 1
    assert sorted(gallery.predictions) == sorted("LAVIR") and all(len(p) == 3 for p in gallery.predictions.values())


@pytest.mark.slow
def test_it_shows_what_the_evaluate_stage_measured(smoke_run):
    """The test images are the evaluation's (its order and transform), and classifier i's top-1 on A_i's
    reconstruction is right exactly where results.json's per-image correctness says it was."""
    ctx = run_context(smoke_run)
    gallery = reconstruct(ctx, GalleryConfig(images=8, seed=3))
    dataset = eval_loader(ctx.cfg, ctx.cache).dataset
    for row, index in enumerate(gallery.indices):
        image, label = dataset[index]
        assert np.array_equal(gallery.pictures[ORIGINAL][row], image.permute(1, 2, 0).numpy())
        assert gallery.labels[row] == label
    per_image = Results.from_json(smoke_run / "results.json").per_image
    for k, predicted in gallery.predictions.items():
        right = [p == y for p, y in zip(predicted, gallery.labels)]
        assert right == [bool(per_image[f"A_{k}"][k][i]) for i in gallery.indices], k


@pytest.mark.slow
def test_the_same_seed_gives_the_same_pictures(smoke_run):
    ctx = run_context(smoke_run)
    first, again = (reconstruct(ctx, GalleryConfig(images=4, seed=7)) for _ in range(2))
    assert first.indices == again.indices and first.predictions == again.predictions
    for name in COLUMNS:
        assert first.pictures[name].tobytes() == again.pictures[name].tobytes(), name
    other = reconstruct(ctx, GalleryConfig(images=4, seed=8))
    assert other.indices != first.indices


@pytest.mark.slow
def test_the_command_writes_the_default_file_and_the_report_shows_it(smoke_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("cache"))
    assert main(["report", str(run)]) == 0
    assert "Not drawn: `repro gallery DIR`" in (run / "claims.md").read_text()

    capsys.readouterr()
    assert main(["gallery", str(run), "--images", "2", "--seed", "5"]) == 0
    png = run / "figures" / "gallery.png"
    assert capsys.readouterr().out.startswith(f"{png}: 2 test images x 7 columns")
    assert png.is_file() and not (run / ".repro.lock").exists()

    assert main(["report", str(run)]) == 0
    md = (run / "claims.md").read_text()
    assert "## Reconstruction gallery\n\n![gallery](figures/gallery.png)" in md and "Not drawn" not in md
    assert json.loads((run / "claims.json").read_text())["figures"]["gallery"] == "figures/gallery.png"
    assert 'alt="gallery" src="data:image/png;base64,' in (run / "claims.html").read_text()
