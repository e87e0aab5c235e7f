"""Per-image values in results.json and the paired bootstrap over them (repro.per_image, Results.resample).

The evaluation stage's output on stub models (tests/test_evaluation.py's) is the fixture: every
resampled quantity must equal the stored one under unit weights (exactly), and equal a direct
re-measurement of an explicitly duplicated/dropped image set.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from repro.analysis.nmi import AVERAGES, nmi_all
from repro.errors import ReproError
from repro.evaluation import measure
from repro.per_image import decode_array, decode_bits, encode_array, n_units, normalised_mi
from repro.results import Results
from repro.schema import check_results
from tests.test_evaluation import CountingAE, StubClassifier

KEYS = ["L", "A", "V", "I", "R"]
ROOT = Path(__file__).resolve().parents[1]


def images(n: int, seed: int = 0, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth colour gradients plus pixel noise, with some dark and bright images (both L tails)."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, size)
    t = (ramp.view(1, 1, -1, 1) * torch.rand(n, 1, 1, 1, generator=g) + ramp.view(1, 1, 1, -1) * 0.5)
    c0, c1 = torch.rand(n, 3, 1, 1, generator=g), torch.rand(n, 3, 1, 1, generator=g)
    x = c0 * (1 - t / 1.5) + c1 * t / 1.5 + 0.1 * torch.randn(n, 3, size, size, generator=g)
    scale = torch.rand(n, 1, 1, 1, generator=g) * 1.4
    return (x * scale).clamp(0, 1), torch.randint(0, 10, (n,), generator=g)


def stub_models(variant: int = 0):
    classifiers = {k: StubClassifier(i) for i, k in enumerate(KEYS)}
    aes = {k: CountingAE((1.0, 0.9 + 0.03 * i + 0.01 * variant, 0.8), shift=0.02 * (i % 2)) for i, k in enumerate(KEYS)}
    return classifiers, CountingAE((0.98, 1.0, 1.0)), aes


def run_measure(x: torch.Tensor, y: torch.Tensor, *, variant: int = 0, noise: bool = True, batch_size: int = 6) -> dict:
    classifiers, a_s, aes = stub_models(variant)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)
    return measure(classifiers, a_s, aes, loader, device="cpu", noise_levels=[0.0, 0.3, 0.6] if noise else [],
                   noise_seed=0, noise_images=13, nmi_bins=16, figures_dir=None, progress=False)


def measured(n: int = 41, seed: int = 0, variant: int = 0) -> dict:
    """A schema-2 results dict of stub models on ``n`` images (odd n and odd noise subset on purpose);
    a fresh copy each call (measured once per arguments: the evaluation takes seconds)."""
    return json.loads(_measured_text(n, seed, variant))


@functools.lru_cache(maxsize=8)
def _measured_text(n: int, seed: int, variant: int) -> str:
    x, y = images(n, seed)
    return json.dumps({"schema_version": 2, "scale": "stub", "classifiers": KEYS, **run_measure(x, y, variant=variant)})


@pytest.fixture(scope="module")
def data() -> dict:
    return measured()


def _lab_numbers(lab: dict) -> dict:
    return {(ae, k): v for ae, stats in lab.items() for k, v in stats.items() if k not in ("hist_distance", "n_images")}


def test_unit_weights_give_the_stored_numbers_exactly(data):
    r = Results.from_dict(data)
    assert r.resample_gaps() == {} and r.n_units == n_units(41) == 21
    s = r.resample(np.ones(r.n_units))
    assert s.top1 == r.top1 and s.top5 == r.top5
    assert s.noise == r.noise
    assert s.nmi == r.nmi  # raw, baseline and corrected, every variant
    assert _lab_numbers(s.lab) == _lab_numbers(r.lab)
    assert all("hist_distance" not in stats for stats in s.lab.values())  # no per-image values: left out


def test_resample_equals_a_direct_measurement_of_the_resampled_images(data):
    r = Results.from_dict(data)
    x, y = images(41, 0)
    w = np.random.default_rng(3).integers(0, 3, size=r.n_units)
    w[-1] = 1  # the odd last unit (one image) stays last and single, so the explicit set pairs images alike
    order = [i for u in range(r.n_units) for _ in range(w[u]) for i in range(2 * u, min(2 * u + 2, 41))]
    direct = run_measure(x[order], y[order], noise=False)
    s = r.resample(w.astype(float))

    # accuracies: ratios of the same counts, so exactly equal
    assert s.top1 == direct["accuracy"]["top1"] and s.top5 == direct["accuracy"]["top5"]
    # noise curves: the resampled images' own correctness (their noise is seeded by their index in
    # the original test set, so it is read from the stored bits rather than re-measured)
    m = data["noise"]["n_images"]
    keep = [i for i in order if i < m]
    for metric in ("top1", "top5"):
        for g, row in data["per_image"]["noise"][metric].items():
            for c, bits in row.items():
                b = decode_bits(bits, 3 * m).reshape(3, m)
                assert s.noise[metric][g][c] == pytest.approx(b[:, keep].mean(axis=1).tolist(), abs=1e-12)
    # raw nMI: the stored MI and entropies are 16-bit (repro.per_image): with entropies of at most
    # log(768) = 6.6 nats here a step is 1e-4 nats, so a per-image nMI moves by well under 1e-4
    for kind in ("intra", "inter"):
        for avg in AVERAGES:
            for name, v in direct["nmi"][kind][avg].items():
                assert s.nmi[kind][avg][name] == pytest.approx(v, abs=1e-4), (kind, avg, name)
    # LAB: per-unit sums quantised to 16 bits (repro.per_image), each off by at most half a step; a
    # mean of them then by at most half a step, and the centring on the stored value adds as much
    # again: one step in all (a ratio: the relative steps of numerator and denominator, twice).
    # Percentiles come from exact counts: equal to float rounding.
    lab = data["per_image"]["lab"]
    for ae, stats in direct["lab"].items():
        q, offset, step = decode_array(lab["sums"][ae])
        steps = dict(zip(lab["columns"], step))
        mean_unit = dict(zip(lab["columns"], np.abs(offset + step * q).mean(axis=0)))
        for key, col in (("mean_shift", "diff"), ("mean_abs_diff", "abs")):
            for ch, v in stats[key].items():
                assert s.lab[ae][key][ch] == pytest.approx(v, rel=0, abs=steps[f"{col}_{ch}"]), (ae, key, ch)
        assert s.lab[ae]["total_change"] == pytest.approx(stats["total_change"], rel=0, abs=steps["delta_e"])
        for ch, v in stats["checkerboard"].items():
            rel = 2 * (steps[f"nyquist_{ch}"] / mean_unit[f"nyquist_{ch}"] + steps[f"power_{ch}"] / mean_unit[f"power_{ch}"])
            assert s.lab[ae]["checkerboard"][ch] == pytest.approx(v, rel=rel), (ae, ch)
        for key in ("L_p01", "L_p99", "L_p01_original", "L_p99_original"):
            assert s.lab[ae][key] == pytest.approx(stats[key], abs=1e-9), (ae, key)


def test_schema_round_trip(data, tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    check_results(json.loads(path.read_text()))
    r = Results.from_json(path)
    assert r.raw["schema_version"] == 2
    again = r.resample(np.ones(r.n_units))
    assert again.nmi == r.nmi and again.top1 == r.top1
    assert set(r.nmi["corrected"]) == {"intra", "inter"} and set(r.nmi["baseline"]["inter"]["arithmetic"]) == {
        "original", "A_S", *(f"A_{k}" for k in KEYS)}


def test_malformed_per_image_arrays_are_one_line_errors(data):
    bad = json.loads(json.dumps(data))
    bad["per_image"]["nmi"]["intra"]["mi"]["A_S"]["shape"] = [3]
    with pytest.raises(ReproError, match=r"per_image\.nmi\.intra\.mi\.A_S\.shape"):
        Results.from_dict(bad)


def version_1(data: dict) -> dict:
    """``data`` as schema 1 wrote it (before issue 9): per-image top-1 bits only, nMI without baseline."""
    old = json.loads(json.dumps(data))
    old["schema_version"] = 1
    old["per_image"] = {"encoding": "base64 of numpy.packbits(correct, bitorder='little')", "top1": old["per_image"]["top1"]}
    for key in ("baseline", "corrected", "shuffle_seed"):
        old["nmi"].pop(key)
    return old


def test_version_1_file_is_read_and_says_what_it_cannot_resample(data):
    r = Results.from_dict(version_1(data))
    gaps = r.resample_gaps()
    assert set(gaps) == {"noise", "nmi", "lab", "accuracy.top5"} and "schema_version 1" in gaps["noise"]
    s = r.resample(np.ones(r.n_units))
    assert s.top1 == r.top1 and s.noise is None and s.nmi is None and s.lab is None
    # the claims that read those sections say why they have no interval; accuracy claims keep theirs
    from repro.claims import evaluate

    v = {x.id: x for x in evaluate(r, resamples=20)}
    assert "schema_version 1" in v["noise.falls"].no_interval and v["noise.falls"].interval is None
    assert v["nmi.order_intra"].verdict == "not measured"  # no chance-corrected nMI to read
    assert v["grid.others_lose"].support is not None


def test_committed_version_1_results_are_read():
    path = ROOT / "artifacts" / "cpu" / "results.json"
    if not path.is_file():
        pytest.skip("no committed cpu results")
    r = Results.from_json(path)
    assert r.n_units == n_units(r.n_test) and (r.raw["schema_version"] == 2 or "nmi" in r.resample_gaps())


def test_bootstrap_is_seeded(data):
    r = Results.from_dict(data)
    a = [x.top1["A_S"]["L"] for x in r.bootstrap(5, seed=1)]
    b = [x.top1["A_S"]["L"] for x in r.bootstrap(5, seed=1)]
    assert a == b and len(set(a)) > 1


def test_quantisation_error_is_at_most_half_a_step():
    v = np.random.default_rng(0).normal(size=1000) * 7.0
    q, offset, step = decode_array(encode_array(v))
    assert np.abs(offset + step * q - v).max() <= step / 2 * (1 + 1e-9)


def test_nmi_from_stored_statistics_follows_the_torch_rules():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 48, generator=g)
    y = torch.rand(6, 48, generator=g)
    x[1], y[1] = 0.5, 0.5  # both constant: 1
    y[2] = 0.5  # one constant: 0
    y[3] = x[3]  # identical: 1
    from repro.analysis.nmi import NMIAccumulator

    acc = NMIAccumulator(bins=8, averages=AVERAGES, keep=True)
    acc.update(x, y)
    kept = acc.per_image()  # the per-image statistics a run stores
    ref = nmi_all(x, y, bins=8)
    for avg in AVERAGES:
        got = normalised_mi(kept["intra_mi"].numpy(), kept["h_x"].numpy(), kept["h_recon"].numpy(), avg)
        np.testing.assert_allclose(got, ref[avg].numpy(), rtol=0, atol=1e-12)
