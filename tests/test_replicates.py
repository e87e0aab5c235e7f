"""Training-seed replicates (repro.replicates): the configuration check, the pooled point values, the
two-level bootstrap, and ``repro report --runs`` on synthetic runs (stub models, no training)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from repro.cli import main
from repro.config import smoke
from repro.errors import ReproError
from repro.replicates import check_replicates, mean_of, replicate_results, same_test_order
from repro.results import Results
from tests.test_resample import measured


def run(variant: int, seed: int = 0, finetune_seed: int | None = None, **finetune) -> dict:
    """A results dict as one run would write it: stub measurements perturbed by ``variant`` (the AEs'
    tint stands in for another training run), with its configuration in the provenance."""
    data = measured(n=41, variant=variant)
    cfg = smoke().to_dict()
    cfg["seed"] = seed
    cfg["finetune"].update(finetune)
    if finetune_seed is not None:
        cfg["finetune"]["seed"] = finetune_seed
    data["provenance"] = {"config": cfg, "seed": seed, "seeds": {}, "git_commit": None}
    return data


@pytest.fixture(scope="module")
def finetune_replicates() -> list[Results]:
    return [Results.from_dict(run(i, seed=0, finetune_seed=i)) for i in range(3)]


def test_only_a_seed_may_differ(finetune_replicates):
    names = ["a", "b", "c"]
    assert check_replicates(finetune_replicates, names) == "finetune.seed"
    assert same_test_order(finetune_replicates)  # one run seed: one test order
    by_run_seed = [Results.from_dict(run(i, seed=i)) for i in range(2)]
    assert check_replicates(by_run_seed, names[:2]) == "seed" and not same_test_order(by_run_seed)
    with pytest.raises(ReproError, match=r"^--runs b: .*finetune\.lr"):
        check_replicates([by_run_seed[0], Results.from_dict(run(1, seed=1, lr=0.5))], names[:2])
    with pytest.raises(ReproError, match="the same seeds"):
        check_replicates([by_run_seed[0], by_run_seed[0]], names[:2])
    with pytest.raises(ReproError, match="at least two"):
        check_replicates(by_run_seed[:1], names[:1])


def test_point_values_are_the_means_of_the_runs(finetune_replicates):
    r = replicate_results(finetune_replicates, ["a", "b", "c"])
    runs = finetune_replicates
    assert r.top1["A_V"]["R"] == pytest.approx(np.mean([x.top1["A_V"]["R"] for x in runs]), abs=1e-15)
    assert r.nmi["corrected"]["inter"]["max"]["A_A"] == pytest.approx(
        np.mean([x.nmi["corrected"]["inter"]["max"]["A_A"] for x in runs]), abs=1e-15)
    assert r.lab["A_I"]["L_p99"] == pytest.approx(np.mean([x.lab["A_I"]["L_p99"] for x in runs]), abs=1e-12)
    assert r.noise["top1"]["A_S"]["L"] == mean_of([x.noise["top1"]["A_S"]["L"] for x in runs])


def test_two_level_resample_is_the_mean_of_the_drawn_runs(finetune_replicates):
    r = replicate_results(finetune_replicates, ["a", "b", "c"])
    draws = list(r.draws(8, seed=4))
    for drawn, weights in draws:
        assert (weights == weights[0]).all()  # the same test images for every drawn run (shared order)
    resamples = list(r.bootstrap(8, seed=4))
    for (drawn, weights), got in zip(draws, resamples):
        by_hand = [finetune_replicates[k].resample(w) for k, w in zip(drawn, weights)]
        for ae, c in (("A_V", "R"), ("none", "L"), ("A_S", "I")):
            assert got.top1[ae][c] == pytest.approx(np.mean([x.top1[ae][c] for x in by_hand]), abs=1e-15)
        assert got.nmi["corrected"]["intra"]["arithmetic"]["A_L"] == pytest.approx(
            np.mean([x.nmi["corrected"]["intra"]["arithmetic"]["A_L"] for x in by_hand]), abs=1e-15)
        assert got.lab["A_R"]["mean_shift"]["b"] == pytest.approx(np.mean([x.lab["A_R"]["mean_shift"]["b"] for x in by_hand]),
                                                                  abs=1e-12)
    # both levels vary: the drawn runs, and the image weights
    assert len({tuple(d) for d, _ in draws}) > 1 and len({w[0].tobytes() for _, w in draws}) > 1
    # runs with different run seeds ordered the test set differently: independent image draws
    other = replicate_results([Results.from_dict(run(i, seed=i)) for i in range(3)], ["a", "b", "c"])
    assert not other.shared_images
    assert any(not (w == w[0]).all() for _, w in other.draws(4, seed=0))


def test_report_with_runs(tmp_path, finetune_replicates, capsys):
    dirs = []
    for i in range(3):
        d = tmp_path / f"ft{i}"
        d.mkdir()
        (d / "results.json").write_text(json.dumps(run(i, seed=0, finetune_seed=i)))
        dirs.append(str(d))
    out = tmp_path / "replicates"
    assert main(["report", "--runs", *dirs, "--out", str(out), "--resamples", "20"]) == 0
    for name in ("claims.md", "claims.json", "claims.html", "replicates.md", "replicates.json"):
        assert (out / name).is_file(), name
    rep = json.loads((out / "replicates.json").read_text())
    claims = json.loads((out / "claims.json").read_text())["claims"]
    assert rep["shared_images"] and rep["varying"] == "finetune.seed" and len(rep["runs"]) == 3
    assert {c["id"] for c in claims} == set(rep["claims"])
    for cid, c in rep["claims"].items():
        assert c["runs_holding"] == sum(v == "holds" for v in c["per_run"]) and len(c["per_run"]) == 3
    # a run of another configuration is refused in one line, naming the setting
    bad = tmp_path / "other"
    bad.mkdir()
    (bad / "results.json").write_text(json.dumps(run(3, seed=0, finetune_seed=3, lr=0.5)))
    capsys.readouterr()
    assert main(["report", "--runs", dirs[0], str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "finetune.lr" in err and len(err.splitlines()) == 1
