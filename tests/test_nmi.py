"""nMI between images (Sec. 3.5): agreement with scikit-learn on the same quantised pixels, properties,
batching across chunks and data-loader batches."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import normalized_mutual_info_score

import repro.analysis.nmi as nmi_mod
from repro.analysis.nmi import AVERAGES, NMIAccumulator, inter_nmi, intra_nmi, nmi, nmi_all, quantize

SETTINGS = settings(max_examples=40, deadline=None)


def sk_nmi(x: torch.Tensor, y: torch.Tensor, bins: int, average: str) -> np.ndarray:
    qx = quantize(x, bins).reshape(x.shape[0], -1).numpy()
    qy = quantize(y, bins).reshape(y.shape[0], -1).numpy()
    return np.array([normalized_mutual_info_score(a, b, average_method=average) for a, b in zip(qx, qy)])


# pixel values from a small palette (ties, constant images, exact bin edges) or anywhere in [-0.2, 1.2]
PIXELS = st.one_of(
    st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 1 / 255, 254 / 255]).map(lambda v: float(np.float32(v))),
    st.floats(-0.25, 1.25, width=32),
)


@st.composite
def image_pairs(draw):
    b = draw(st.integers(1, 4))
    n = draw(st.integers(1, 40))
    x = draw(hnp.arrays(np.float32, (b, n), elements=PIXELS))
    kind = draw(st.sampled_from(["free", "copy", "affine", "constant"]))
    if kind == "free":
        y = draw(hnp.arrays(np.float32, (b, n), elements=PIXELS))
    elif kind == "copy":
        y = x.copy()
    elif kind == "affine":
        y = (1 - x).astype(np.float32)
    else:
        y = np.full((b, n), draw(PIXELS), np.float32)
    if draw(st.booleans()):
        x, y = y, x
    return torch.from_numpy(x), torch.from_numpy(y)


@SETTINGS
@given(image_pairs(), st.sampled_from([1, 2, 4, 7, 64, 300]))
def test_equals_sklearn_all_averages(pair, bins):
    x, y = pair
    out = nmi_all(x, y, bins=bins)
    for average in AVERAGES:
        assert out[average].dtype == torch.float64 and out[average].shape == (x.shape[0],)
        np.testing.assert_allclose(out[average].numpy(), sk_nmi(x, y, bins, average), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(out[average].numpy(), nmi(x, y, bins=bins, average=average).numpy())


@SETTINGS
@given(image_pairs(), st.sampled_from(AVERAGES))
def test_symmetric_and_bounded(pair, average):
    x, y = pair
    a, b = nmi(x, y, average=average), nmi(y, x, average=average)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert ((a >= 0) & (a <= 1)).all()


@SETTINGS
@given(hnp.arrays(np.float32, (3, 30), elements=st.floats(0, 1, width=32)), st.sampled_from(AVERAGES))
def test_self_nmi_is_one_unless_constant(arr, average):
    x = torch.from_numpy(arr)
    q = quantize(x)
    out = nmi(x, x, average=average)
    for k in range(3):
        # a constant image with itself: both constant, scikit-learn's 1.0 too
        assert out[k].item() == pytest.approx(1.0, abs=1e-12), q[k].unique()


def test_degenerate_cases_follow_sklearn():
    x = torch.tensor([[0.5] * 8, [0.1] * 8, [0.5] * 8, [0.0, 1.0] * 4])
    y = torch.tensor([[0.5] * 8, [0.9] * 8, [0.0, 1.0] * 4, [0.3] * 8])
    for average in AVERAGES:
        assert nmi(x, y, average=average).tolist() == [1.0, 1.0, 0.0, 0.0]
        np.testing.assert_array_equal(sk_nmi(x, y, 64, average), [1.0, 1.0, 0.0, 0.0])
    # independent split: MI exactly 0 in theory
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    b = torch.tensor([[0.0, 1.0, 0.0, 1.0]])
    assert nmi(a, b).item() == pytest.approx(0.0, abs=1e-12)
    # no samples at all: scikit-learn's empty case is 1.0
    assert nmi(torch.zeros(2, 0), torch.zeros(2, 0)).tolist() == [1.0, 1.0]
    assert nmi(torch.zeros(0, 5), torch.zeros(0, 5)).shape == (0,)


def test_image_shape_is_flattened_and_batching_matches_single():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 3, 8, 8, generator=g)
    y = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    batched = nmi(x, y)
    torch.testing.assert_close(batched, nmi(x.reshape(5, -1), y.reshape(5, -1)), rtol=0, atol=0)
    single = torch.cat([nmi(x[k : k + 1], y[k : k + 1]) for k in range(5)])
    torch.testing.assert_close(batched, single, rtol=0, atol=1e-15)
    np.testing.assert_allclose(batched.numpy(), sk_nmi(x, y, 64, "arithmetic"), atol=1e-12)
    assert (batched > 0.2).all() and (batched < 1).all()


def test_chunking_gives_same_result(monkeypatch):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(7, 3, 4, 4, generator=g)
    y = torch.rand(7, 3, 4, 4, generator=g)
    full = nmi(x, y)
    monkeypatch.setattr(nmi_mod, "CHUNK_ELEMENTS", 2 * 48)  # 2 images a chunk
    torch.testing.assert_close(nmi(x, y), full, rtol=0, atol=1e-15)
    monkeypatch.setattr(nmi_mod, "CHUNK_ELEMENTS", 1)  # smaller than one image: one image a chunk
    torch.testing.assert_close(nmi(x, y), full, rtol=0, atol=1e-15)


@pytest.mark.parametrize("bins", [1, 2, 4, 8, 16, 32, 64, 128, 256])
def test_quantize_8bit_pixels(bins):
    p = torch.arange(256)
    for dtype in (torch.float32, torch.float64):
        assert torch.equal(quantize(p.to(dtype) / 255, bins), p // (256 // bins))


def test_half_precision_inputs_are_computed_in_float32():
    x = torch.rand(3, 50, generator=torch.Generator().manual_seed(4))
    y = x.flip(1)
    for dtype in (torch.float16, torch.bfloat16):
        torch.testing.assert_close(nmi(x.to(dtype), y.to(dtype)), nmi(x.to(dtype).float(), y.to(dtype).float()), rtol=0, atol=0)
    with pytest.raises(ValueError, match="NaN"):
        nmi(x, torch.where(x > 0.9, math.nan, x))


def test_quantize_clamps_and_validates():
    assert quantize(torch.tensor([-3.0, 0.0, 0.999, 1.0, 5.0]), 10).tolist() == [0, 0, 9, 9, 9]
    with pytest.raises(ValueError, match="floating point"):
        quantize(torch.tensor([0, 255], dtype=torch.uint8))
    with pytest.raises(ValueError, match="NaN"):
        quantize(torch.tensor([0.5, math.nan]))
    with pytest.raises(ValueError, match="bins"):
        quantize(torch.tensor([0.5]), 0)


def test_validation():
    x = torch.rand(2, 3, 4, 4)
    with pytest.raises(ValueError, match="same shape"):
        nmi(x, x[:1])
    with pytest.raises(ValueError, match="average"):
        nmi(x, x, average="mean")
    with pytest.raises(ValueError, match=r"\(B, N\)"):
        nmi(torch.rand(5), torch.rand(5))
    with pytest.raises(ValueError, match="average"):
        NMIAccumulator(averages=("max", "median"))


def test_intra_and_inter():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(5, 3, 6, 6, generator=g)
    r = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    torch.testing.assert_close(intra_nmi(x, r, bins=16), nmi(x, r, bins=16))
    inter = inter_nmi(r, average="max")
    assert inter.shape == (2,)  # odd batch: last image dropped
    torch.testing.assert_close(inter, nmi(r[[0, 2]], r[[1, 3]], average="max"))


@pytest.mark.parametrize("splits", [[10], [3, 4, 3], [1, 1, 1, 1, 1, 5], [5, 5], [9, 1]])
def test_accumulator_independent_of_batching(splits):
    g = torch.Generator().manual_seed(3)
    x = torch.rand(10, 3, 6, 6, generator=g)
    r = (x + 0.15 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    acc = NMIAccumulator(bins=32, averages=AVERAGES)
    start = 0
    for s in splits:
        acc.update(x[start : start + s], r[start : start + s])
        start += s
    assert acc.count("intra") == 10 and acc.count("inter") == 5
    for average in AVERAGES:
        assert acc.mean("intra", average) == pytest.approx(nmi(x, r, bins=32, average=average).mean().item(), abs=1e-12)
        assert acc.mean("inter", average) == pytest.approx(inter_nmi(r, bins=32, average=average).mean().item(), abs=1e-12)
    stats = acc.summary()
    assert len(stats) == 8 and {s.kind for s in stats} == {"intra", "inter"}


def test_accumulator_inter_only_and_empty():
    acc = NMIAccumulator()
    assert math.isnan(acc.mean("inter")) and acc.count("intra") == 0
    r = torch.rand(3, 12)
    acc.update(None, r)
    assert acc.count("intra") == 0 and acc.count("inter") == 1
    acc.update(None, r)  # leftover r[2] pairs with the new r[0]
    assert acc.count("inter") == 3
    expected = torch.cat([inter_nmi(r), nmi(r[2:3], r[0:1]), nmi(r[1:2], r[2:3])]).mean().item()
    assert acc.mean("inter") == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="kind"):
        acc.count("both")
    with pytest.raises(ValueError, match="not among"):
        acc.mean("inter", "max")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    x = torch.rand(6, 3, 16, 16)
    y = torch.rand(6, 3, 16, 16)
    out = nmi(x.cuda(), y.cuda())
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), nmi(x, y), rtol=0, atol=1e-12)


# --- the chance baseline (issue 9, section 5) ---------------------------------------------------


def unrelated_images(n: int, samples: int = 3 * 16 * 16, seed: int = 0) -> torch.Tensor:
    """Images whose pixels are independent draws from a histogram of their own (skewed, different per
    image): pairs of them share no information, but their plug-in nMI is well above 0."""
    g = torch.Generator().manual_seed(seed)
    weights = torch.rand(n, 16, generator=g) ** 3
    levels = torch.multinomial(weights, samples, replacement=True, generator=g)
    return (levels.float() + torch.rand(n, samples, generator=g)) / 16


def test_corrected_nmi_of_unrelated_images_is_zero_in_expectation():
    x = unrelated_images(400)
    acc = NMIAccumulator(bins=16, averages=AVERAGES, baseline_seed=0, keep=True)
    acc.update(None, x)
    kept = acc.per_image()
    raw, base = acc.mean("inter"), acc.mean("inter", baseline=True)
    assert raw > 0.02  # the floor the baseline is there to remove (histogram occupancy alone)
    # By construction pixel positions carry nothing: raw and baseline have one expectation. The
    # tolerance is 4 standard errors of the mean per-pair difference (a fixed seed: deterministic).
    from repro.per_image import normalised_mi

    p = kept["inter_mi"].shape[0]
    hx, hy = kept["h_recon"][0 : 2 * p : 2].numpy(), kept["h_recon"][1 : 2 * p : 2].numpy()
    diff = normalised_mi(kept["inter_mi"].numpy(), hx, hy, "arithmetic") - normalised_mi(
        kept["inter_mi_shuffled"].numpy(), hx, hy, "arithmetic")
    se = diff.std(ddof=1) / math.sqrt(p)
    assert abs(raw - base) <= 4 * se
    assert abs(diff.mean() - (raw - base)) < 1e-12  # the kept values make the accumulated means


def test_shuffled_image_keeps_its_histogram():
    x = unrelated_images(4)
    s = nmi_mod.shuffled(x, first_index=7)
    assert torch.equal(s.sort(dim=1).values, x.sort(dim=1).values) and not torch.equal(s, x)
    torch.testing.assert_close(nmi_mod.entropy(s, 16), nmi_mod.entropy(x, 16), rtol=0, atol=1e-12)


@pytest.mark.parametrize("splits", [[10], [3, 4, 3], [1, 9], [5, 5]])
def test_baseline_does_not_depend_on_batching(splits):
    g = torch.Generator().manual_seed(3)
    x = torch.rand(10, 3, 6, 6, generator=g)
    r = (x + 0.15 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    ref = NMIAccumulator(bins=32, averages=AVERAGES, baseline_seed=5, keep=True)
    ref.update(x, r)
    acc = NMIAccumulator(bins=32, averages=AVERAGES, baseline_seed=5, keep=True)
    start = 0
    for s in splits:
        acc.update(x[start : start + s], r[start : start + s])
        start += s
    for kind in ("intra", "inter"):
        for average in AVERAGES:
            assert acc.mean(kind, average, baseline=True) == pytest.approx(ref.mean(kind, average, baseline=True), abs=1e-12)
    for key, values in ref.per_image().items():
        torch.testing.assert_close(acc.per_image()[key], values, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="baseline"):
        NMIAccumulator().mean("intra", baseline=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_baseline_on_cuda_matches_cpu():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(7, 3, 8, 8, generator=g)
    r = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    out = {}
    for device in ("cpu", "cuda"):
        acc = NMIAccumulator(bins=16, averages=AVERAGES, baseline_seed=0, keep=True)
        acc.update(x.to(device), r.to(device))
        out[device] = acc
    for kind in ("intra", "inter"):
        assert out["cuda"].mean(kind, "max", baseline=True) == pytest.approx(out["cpu"].mean(kind, "max", baseline=True), abs=1e-12)
    for key, values in out["cpu"].per_image().items():
        torch.testing.assert_close(out["cuda"].per_image()[key], values, rtol=0, atol=1e-12)
