"""The evaluate stage's measurements (repro.evaluation.measure) with tiny models and synthetic data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from repro.errors import ReproError
from repro.evaluation import measure
from repro.training import topk_correct
from repro.noise import add_uniform_noise
from repro.results import Results, decode_bits

KEYS = ["L", "V", "R"]
AVERAGES = ("arithmetic", "geometric", "min", "max")


class StubClassifier(nn.Module):
    """Logits from a fixed linear map of 4x4-pooled pixels; records its inputs and eval flag."""

    def __init__(self, seed: int, num_classes: int = 10, record: bool = False):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(num_classes, 3 * 4 * 4, generator=g), requires_grad=False)
        self.record = record
        self.inputs: list[torch.Tensor] = []
        self.training_seen: list[bool] = []

    def forward(self, x):
        self.training_seen.append(self.training)
        if self.record:
            self.inputs.append(x.clone())
        pooled = nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)
        return pooled @ self.weight.T


class CountingAE(nn.Module):
    """An 'autoencoder' that counts its forward calls: a fixed per-channel affine map, clamped to [0, 1]."""

    def __init__(self, scale=(1.0, 1.0, 1.0), shift=0.0):
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1))
        self.shift = shift
        self.calls = 0
        self.batch_sizes: list[int] = []
        self.inputs: list[torch.Tensor] = []

    def forward(self, x):
        self.calls += 1
        self.batch_sizes.append(x.shape[0])
        self.inputs.append(x.clone())
        return (x * self.scale + self.shift).clamp(0, 1)


def make_loader(n=20, batch_size=6, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, size, size, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=False)


def run(loader, classifiers=None, aes=None, a_s=None, **kw):
    classifiers = classifiers if classifiers is not None else {k: StubClassifier(i) for i, k in enumerate(KEYS)}
    aes = aes if aes is not None else {k: CountingAE((1.0, 0.9 + 0.03 * i, 0.8)) for i, k in enumerate(KEYS)}
    a_s = a_s if a_s is not None else CountingAE()
    args = dict(device="cpu", noise_levels=[0.0, 0.5, 1.0], noise_seed=0, noise_images=None, nmi_bins=16,
                figures_dir=None, progress=False)
    args.update(kw)
    return measure(classifiers, a_s, aes, loader, **args), classifiers, a_s, aes


def test_grid_shape_and_per_image_bits_match_accuracy():
    out, *_ = run(make_loader(n=20, batch_size=6))
    assert out["n_test"] == 20
    rows = ["none", "A_S", "A_L", "A_V", "A_R"]
    for metric in ("top1", "top5"):
        assert list(out["accuracy"][metric]) == rows
        for row in rows:
            assert list(out["accuracy"][metric][row]) == KEYS  # the full cross grid A_i∘j
    for row in rows:
        for k in KEYS:
            bits = decode_bits(out["per_image"]["top1"][row][k], 20)
            assert bits.mean() == out["accuracy"]["top1"][row][k]
            assert out["accuracy"]["top5"][row][k] >= out["accuracy"]["top1"][row][k]
    # What the pipeline writes reads back through Results.
    res = Results.from_dict({"schema_version": 1, "classifiers": KEYS, **out})
    assert res.grid().shape == (3, 3)
    assert res.per_image["A_V"]["R"].shape == (20,)


def test_accuracy_is_computed_from_the_reconstructions():
    loader = make_loader(n=12, batch_size=5)
    images = torch.cat([b[0] for b in loader])
    labels = torch.cat([b[1] for b in loader])
    out, classifiers, a_s, aes = run(loader, noise_levels=[])
    for k, clf in classifiers.items():
        with torch.no_grad():
            expect_none = (clf(images).argmax(1) == labels).float().mean().item()
            expect_cross = (clf(aes["V"](images)).argmax(1) == labels).float().mean().item()
        assert out["accuracy"]["top1"]["none"][k] == pytest.approx(expect_none)
        assert out["accuracy"]["top1"]["A_V"][k] == pytest.approx(expect_cross)
    assert "noise" not in out


def test_each_reconstruction_is_computed_once_per_batch():
    loader = make_loader(n=20, batch_size=6)  # 4 batches
    out, _, a_s, aes = run(loader, noise_levels=[])
    assert a_s.calls == 4
    assert all(ae.calls == 4 for ae in aes.values())
    # With the sweep: once more per non-zero level (level 0 reuses the clean pass), on the first 8 images.
    out, _, a_s, aes = run(loader, noise_levels=[0.0, 0.3, 0.6], noise_images=8)
    assert a_s.calls == 4 + 2 * 2
    assert a_s.batch_sizes == [6, 6, 6, 6, 2, 2, 6, 2]  # batch 0: clean, 0.3, 0.6; batch 1: clean, 0.3, 0.6 on 2
    assert all(ae.calls == 8 for ae in aes.values())
    assert out["noise"]["n_images"] == 8


def test_models_run_in_eval_mode_and_keep_their_flags():
    classifiers = {k: StubClassifier(i).eval() for i, k in enumerate(KEYS)}
    classifiers["L"].train()
    a_s = CountingAE().train()
    run(make_loader(n=6, batch_size=3), classifiers=classifiers, a_s=a_s, noise_levels=[0.5])
    assert not any(any(c.training_seen) for c in classifiers.values())
    assert classifiers["L"].training and a_s.training and not classifiers["V"].training


def test_noise_is_the_same_for_every_model_and_rerun():
    loader = make_loader(n=10, batch_size=4)
    classifiers = {k: StubClassifier(i, record=True) for i, k in enumerate(KEYS)}
    out1, *_ = run(loader, classifiers=classifiers, noise_levels=[0.7], noise_seed=3, aes={})
    # Per batch: clean x, A_S(x) for each classifier, then (level 0.7) noisy x and A_S(noisy x).
    first = [c.inputs for c in classifiers.values()]
    for other in first[1:]:
        assert len(other) == len(first[0])
        for a, b in zip(first[0], other):
            assert torch.equal(a, b)
    # The noisy images are the images plus the image-indexed noise.
    images = torch.cat([b[0] for b in loader])
    noisy_seen = torch.cat([first[0][i] for i in range(2, len(first[0]), 4)])
    assert torch.equal(noisy_seen, add_uniform_noise(images, 0.7, seed=3, first_index=0))
    out2, *_ = run(loader, noise_levels=[0.7], noise_seed=3, aes={})
    assert out1["noise"] == out2["noise"] and out1["accuracy"] == out2["accuracy"]
    # A_S and A_i get the very same noisy batches as well.
    _, _, a_s, aes = run(loader, noise_levels=[0.2, 0.7], noise_seed=3)
    for ae in aes.values():
        assert len(ae.inputs) == len(a_s.inputs) == 3 * len(loader)
        assert all(torch.equal(a, b) for a, b in zip(a_s.inputs, ae.inputs))


def test_noise_does_not_depend_on_batch_size():
    def noisy_inputs(batch_size):
        loader = make_loader(n=11, batch_size=batch_size)
        clf = StubClassifier(0, record=True)
        run(loader, classifiers={"L": clf}, aes={}, noise_levels=[0.4], noise_images=9)
        # Per batch the classifier sees x and A_S(x), then, while within the first 9 images, the noisy
        # batch and A_S of it.
        seen, i = [], 0
        for b, (images, _) in enumerate(loader):
            i += 2
            if b * batch_size < 9:
                seen.append(clf.inputs[i])
                i += 2
        assert i == len(clf.inputs)
        return torch.cat(seen)

    small, large = noisy_inputs(2), noisy_inputs(5)
    assert small.shape[0] == large.shape[0] == 9
    assert torch.equal(small, large)


def test_noise_results_shape_and_level_zero_matches_clean_accuracy():
    out, *_ = run(make_loader(n=20, batch_size=6), noise_levels=[0.0, 0.1, 1.0], noise_images=None)
    noise = out["noise"]
    assert noise["levels"] == [0.0, 0.1, 1.0] and noise["clamp"] is True and noise["seed"] == 0
    assert noise["n_images"] == 20
    assert set(noise["top1"]) == {"none", "A_S", "A_L", "A_V", "A_R"}
    assert list(noise["top1"]["none"]) == KEYS and list(noise["top1"]["A_S"]) == KEYS
    for k in KEYS:
        assert list(noise["top1"][f"A_{k}"]) == [k]  # only A_i∘i under noise (Fig. 5)
        assert len(noise["top1"]["none"][k]) == 3
        assert noise["top1"]["none"][k][0] == out["accuracy"]["top1"]["none"][k]
        assert noise["top1"][f"A_{k}"][k][0] == out["accuracy"]["top1"][f"A_{k}"][k]
        assert noise["top5"]["A_S"][k][0] == out["accuracy"]["top5"]["A_S"][k]


def test_nmi_and_lab_sections():
    identity = CountingAE()
    tinted = CountingAE((1.0, 1.0, 0.7))
    loader = make_loader(n=9, batch_size=4)
    out, *_ = run(loader, a_s=identity, aes={"L": tinted}, classifiers={"L": StubClassifier(0)})
    nmi = out["nmi"]
    assert nmi["bins"] == 16 and nmi["n_images"] == 9 and nmi["n_pairs"] == 4  # pairs across batch borders
    assert set(nmi["intra"]) == set(AVERAGES) and set(nmi["inter"]) == set(AVERAGES)
    for avg in AVERAGES:
        assert nmi["intra"][avg]["A_S"] == 1.0  # identity keeps everything
        assert nmi["intra"][avg]["A_L"] < 1.0
        assert nmi["inter"][avg]["A_S"] == pytest.approx(nmi["inter"][avg]["original"])
    lab = out["lab"]
    assert set(lab) == {"A_S", "A_L"}
    assert lab["A_S"]["total_change"] == 0.0 and lab["A_S"]["mean_shift"]["b"] == 0.0
    assert lab["A_L"]["mean_shift"]["b"] > 0  # less blue: yellow


def test_fig3_panel_is_written(tmp_path):
    out, *_ = run(make_loader(n=8, batch_size=4), figures_dir=tmp_path / "figures", fig3_index=5, noise_levels=[])
    assert out["figures"] == {"fig3_lab": "figures/fig3_lab.png"}
    assert (tmp_path / "figures" / "fig3_lab.png").read_bytes()[:4] == b"\x89PNG"


def test_with_the_real_models():
    from repro.models.classifiers import build_classifier
    from repro.models.segnet import SegNet, SegNetConfig

    torch.manual_seed(0)
    classifiers = {k: build_classifier(k, family="cifar", num_classes=10, width=0.125).freeze() for k in ("L", "A")}
    a_s = SegNet(SegNetConfig(width=0.0625))
    fine = {k: SegNet(SegNetConfig(width=0.0625)) for k in classifiers}
    loader = make_loader(n=8, batch_size=4, size=32)
    out = measure(classifiers, a_s, fine, loader, device="cpu", noise_levels=[0.0, 0.5], noise_seed=0,
                  noise_images=4, nmi_bins=64, figures_dir=None, progress=False)
    assert set(out["accuracy"]["top1"]) == {"none", "A_S", "A_L", "A_A"}
    assert all(0.0 <= v <= 1.0 for row in out["accuracy"]["top1"].values() for v in row.values())
    assert all(np.isfinite(v) for v in out["nmi"]["intra"]["arithmetic"].values())
    # bf16 autocast (the gpu scale's setting) runs through as well; statistics stay in float32.
    out16 = measure(classifiers, a_s, fine, loader, device="cpu", noise_levels=[0.5], noise_seed=0,
                    noise_images=4, nmi_bins=64, figures_dir=None, progress=False, autocast_dtype=torch.bfloat16)
    assert set(out16["lab"]) == {"A_S", "A_L", "A_A"}
    intra, intra16 = out["nmi"]["intra"]["arithmetic"], out16["nmi"]["intra"]["arithmetic"]
    assert intra16["A_S"] == pytest.approx(intra["A_S"], abs=0.1)


def test_bad_inputs_are_reported():
    loader = make_loader(n=4, batch_size=2)
    with pytest.raises(ReproError, match="no classifier"):
        run(loader, classifiers={"L": StubClassifier(0)}, aes={"V": CountingAE()})
    with pytest.raises(ReproError, match="no images"):
        run([], classifiers={"L": StubClassifier(0)}, aes={})
    with pytest.raises(ReproError, match="noise levels"):
        run(loader, noise_levels=[-0.1])


def test_topk_with_fewer_classes_than_k():
    c1, c5 = topk_correct(torch.tensor([[0.2, 0.8]]), torch.tensor([0]))
    assert c1.tolist() == [False] and c5.tolist() == [True]
