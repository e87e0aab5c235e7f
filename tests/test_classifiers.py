"""Classifier zoo (repro/models/classifiers.py) and the `repro models` command."""

from __future__ import annotations

import argparse
import json
import urllib.error

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from repro.errors import ReproError
from repro.models import (
    CLASSIFIER_KEYS,
    Classifier,
    SegNet,
    SegNetConfig,
    build_classifier,
    describe_models,
    get_spec,
    resolve_classifier,
    save_state_dict_atomic,
)


def _bn_stats(module: nn.Module) -> dict[str, torch.Tensor]:
    names = ("running_mean", "running_var", "num_batches_tracked")
    return {n: b.clone() for n, b in module.named_buffers() if n.rsplit(".", 1)[-1] in names}


# -- registry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,key",
    [("L", "L"), ("lenet5", "L"), ("LeNet-5", "L"), ("alexnet", "A"), ("a", "A"), ("vgg16_bn", "V"),
     ("VGG", "V"), ("inception_v3", "I"), ("Inception", "I"), ("resnet50", "R"), ("ResNet-50", "R")],
)  # fmt: skip
def test_resolve_classifier(name, key):
    assert resolve_classifier(name) == key
    assert get_spec(name).key == key


def test_unknown_classifier_lists_valid_names():
    with pytest.raises(ReproError) as err:
        resolve_classifier("densenet")
    msg = str(err.value)
    assert "densenet" in msg and all(k in msg for k in CLASSIFIER_KEYS) and "vgg16_bn" in msg and "lenet5" in msg


def test_specs_know_sizes_and_normalisation():
    assert [get_spec(k).input_size("imagenet") for k in CLASSIFIER_KEYS] == [224, 224, 224, 299, 224]
    assert {get_spec(k).input_size("cifar") for k in CLASSIFIER_KEYS} == {32}
    mean, std = get_spec("R").normalization("imagenet")
    assert mean == (0.485, 0.456, 0.406) and std == (0.229, 0.224, 0.225)
    with pytest.raises(ReproError, match="family"):
        get_spec("R").input_size("mnist")
    with pytest.raises(ReproError, match="family"):
        build_classifier("R", family="mnist", num_classes=10)


# -- shapes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", CLASSIFIER_KEYS)
def test_cifar_models_output_logits_from_any_input_size(key):
    torch.manual_seed(0)
    clf = build_classifier(key, family="cifar", num_classes=10).eval()
    assert clf.input_size == 32
    with torch.no_grad():
        assert clf(torch.rand(2, 3, 32, 32)).shape == (2, 10)
        assert clf(torch.rand(2, 3, 45, 60)).shape == (2, 10)  # resized to 32x32
    clf.train()
    assert clf(torch.rand(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("key", CLASSIFIER_KEYS)
def test_cifar_width_multiplier(key):
    narrow = sum(p.numel() for p in build_classifier(key, family="cifar", num_classes=10, width=0.5).parameters())
    wide = sum(p.numel() for p in build_classifier(key, family="cifar", num_classes=10, width=2.0).parameters())
    assert narrow < wide


@pytest.mark.parametrize("key", CLASSIFIER_KEYS)
def test_imagenet_models_output_shapes(key):
    # Built and run on the meta device: shapes only, so the paper-scale nets cost nothing here.
    with torch.device("meta"):
        clf = build_classifier(key, family="imagenet", num_classes=1000)
        x = torch.rand(2, 3, clf.input_size, clf.input_size)
    clf.eval()
    assert clf(x).shape == (2, 1000)
    clf.train()  # Inception v3 returns InceptionOutputs in training; the wrapper returns the logits
    out = clf(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 1000)


def test_imagenet_parameter_counts_match_torchvision():
    rows = {r["key"]: r for r in describe_models("imagenet", 1000)}
    assert rows["A"]["parameters"] == 61_100_840
    assert rows["V"]["parameters"] == 138_365_992
    assert rows["R"]["parameters"] == 25_557_032
    assert rows["I"]["parameters"] == 27_161_264  # with the aux classifier, as torchvision's
    assert rows["I"]["input_size"] == 299
    assert abs(rows["R"]["macs"] / 1e9 - 4.09) < 0.01  # the well-known 4.1 GMACs of ResNet-50


def test_lenet_at_224_runs_on_cpu():
    clf = build_classifier("lenet5", family="imagenet", num_classes=7).eval()
    assert clf.input_size == 224
    with torch.no_grad():
        assert clf(torch.rand(1, 3, 224, 224)).shape == (1, 7)
        assert clf(torch.rand(1, 3, 256, 300)).shape == (1, 7)


def test_imagenet_torchvision_models_reject_width():
    with pytest.raises(ReproError, match="width"):
        build_classifier("V", family="imagenet", num_classes=1000, width=0.5)


# -- wrapper ----------------------------------------------------------------------------------------


def test_wrapper_resizes_and_normalises():
    torch.manual_seed(0)
    clf = build_classifier("V", family="cifar", num_classes=10).eval()
    x = torch.rand(2, 3, 64, 64)
    spec = clf.spec
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in spec.normalization("cifar"))
    small = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False, antialias=True)
    with torch.no_grad():
        assert torch.allclose(clf(x), clf.model((small - mean) / std), atol=1e-5)
    assert set(clf.state_dict()) == {f"model.{k}" for k in clf.model.state_dict()}  # no extra buffers


@pytest.mark.parametrize("key", CLASSIFIER_KEYS)
def test_frozen_classifier_passes_gradients_to_input_only(key):
    """An AE training step through a frozen classifier: Sec. 3.3's fine-tuning."""
    torch.manual_seed(0)
    clf = build_classifier(key, family="cifar", num_classes=10)
    assert clf.freeze() is clf and clf.frozen
    ae = SegNet(SegNetConfig(width=0.0625))
    ae.set_trainable("decoder")
    chain = nn.Sequential(ae, clf)
    chain.train()  # must not put the frozen classifier back in training mode
    assert not any(m.training for m in clf.modules())
    params = [p.detach().clone() for p in clf.parameters()]
    stats = _bn_stats(clf)
    opt = torch.optim.SGD(ae.decoder_parameters(), lr=0.1, momentum=0.9)
    x = torch.rand(4, 3, 32, 32)
    recon = ae(x)
    recon.retain_grad()
    loss = F.cross_entropy(clf(recon), torch.randint(0, 10, (4,)))
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert recon.grad is not None and recon.grad.abs().sum() > 0  # gradients reach the classifier's input
    assert all(p.grad is None and not p.requires_grad for p in clf.parameters())
    assert all(torch.equal(a, b) for a, b in zip(params, clf.parameters()))
    assert all(torch.equal(stats[k], v) for k, v in _bn_stats(clf).items())
    assert all(p.grad is not None for p in ae.decoder_parameters())
    if key in ("V", "I", "R"):
        assert stats  # these families have BatchNorm, so the check above is not vacuous


def test_frozen_classifier_with_input_requiring_grad():
    clf = build_classifier("R", family="cifar", num_classes=10).freeze()
    x = torch.rand(2, 3, 40, 40, requires_grad=True)  # also through the resize
    clf(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in clf.parameters())


# -- weights ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "model."])
def test_local_state_dict_file_loads(tmp_path, prefix):
    torch.manual_seed(0)
    src = build_classifier("R", family="cifar", num_classes=10).eval()
    state = src.state_dict() if prefix else src.model.state_dict()
    path = tmp_path / "resnet.pt"
    save_state_dict_atomic(state, path)
    torch.manual_seed(1)
    clf = build_classifier("resnet50", family="cifar", num_classes=10, weights=path).eval()
    for (k, a), b in zip(src.model.state_dict().items(), clf.model.state_dict().values()):
        assert torch.equal(a, b), k
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(src(x), clf(x))


def test_local_state_dict_mismatch_names_the_file(tmp_path):
    path = tmp_path / "narrow.pt"
    save_state_dict_atomic(build_classifier("V", family="cifar", num_classes=10, width=0.5).model.state_dict(), path)
    with pytest.raises(ReproError, match=r"narrow\.pt.*shape mismatch"):
        build_classifier("V", family="cifar", num_classes=10, weights=path)
    with pytest.raises(ReproError, match=r"narrow\.pt"):
        build_classifier("A", family="cifar", num_classes=10, weights=path)
    with pytest.raises(ReproError, match=r"missing\.pt.*does not exist"):
        build_classifier("V", family="cifar", num_classes=10, weights=tmp_path / "missing.pt")


def test_inception_state_dict_without_aux_head_loads(tmp_path):
    with torch.device("meta"):
        meta = build_classifier("I", family="imagenet", num_classes=10).model.state_dict()
    state = {k: torch.zeros(v.shape, dtype=v.dtype) for k, v in meta.items() if not k.startswith("AuxLogits.")}
    path = tmp_path / "inc.pt"
    save_state_dict_atomic(state, path)
    clf = build_classifier("I", family="imagenet", num_classes=10, weights=path)
    assert clf.model.AuxLogits is None


def test_imagenet_weights_errors_before_any_download(monkeypatch):
    def no_download(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("tried to load weights")

    monkeypatch.setattr(torchvision.models, "get_model", no_download)
    with pytest.raises(ReproError, match="LeNet-5 has no ImageNet weights"):
        build_classifier("L", family="imagenet", num_classes=1000, weights="imagenet")
    with pytest.raises(ReproError, match="imagenet family"):
        build_classifier("R", family="cifar", num_classes=10, weights="imagenet")
    with pytest.raises(ReproError, match="1000 classes"):
        build_classifier("R", family="imagenet", num_classes=10, weights="imagenet")


def test_imagenet_weights_use_torchvision_weights_api(get_model_calls):
    calls = get_model_calls
    clf = build_classifier("vgg16_bn", family="imagenet", num_classes=1000, weights="imagenet")
    assert calls == [("vgg16_bn", {"weights": torchvision.models.VGG16_BN_Weights.IMAGENET1K_V1})]
    assert isinstance(clf, Classifier) and clf.input_size == 224


def test_imagenet_weights_offline_gives_clear_error(monkeypatch):
    def offline(name, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models, "get_model", offline)
    with pytest.raises(ReproError, match=r"ResNet-50.*resnet50-.*\.pth.*checkpoints.*local state-dict file"):
        build_classifier("R", family="imagenet", num_classes=1000, weights="imagenet")


# -- describe_models / `repro models` --------------------------------------------------------------


def test_describe_models_cifar():
    rows = describe_models("cifar", 10, 1.0, segnet_width=0.25)
    assert [r["key"] for r in rows] == [*CLASSIFIER_KEYS, "AE"]
    for r in rows:
        assert set(r) == {"key", "name", "input_size", "parameters", "macs", "family"}
        assert r["input_size"] == 32 and r["parameters"] > 0 and r["macs"] > 0 and r["family"] == "cifar"
    lenet = rows[0]
    assert lenet["parameters"] == 62_006  # 3-channel LeNet-5: 456 + 2,416 + 48,120 + 10,164 + 850
    assert lenet["macs"] == 651_720


def _models(capsys, *argv: str) -> tuple[int, str, str]:
    """`repro models ARGV` through the CLI's entry point: (exit code, stdout, stderr)."""
    from repro.cli import main

    code = main(["models", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _table_rows(out: str) -> dict[str, list[str]]:
    """The text table's rows by key: [name, width, input, parameters, MACs] (name and width as printed)."""
    lines = out.splitlines()
    rows = {}
    for line in lines[3:]:  # header line, column names, rule
        cells = [c for c in line.split("  ") if c.strip()]
        rows[cells[0].strip()] = [c.strip() for c in cells[1:]]
    return rows


def _pipeline_models(scale: str) -> tuple[object, dict[str, nn.Module]]:
    """The models `repro run --scale SCALE` builds: A_S by the pretraining stage's function, each classifier
    by the registry function with the classifiers stage's arguments (repro.pipeline.classifiers.run_one),
    the number of classes that of the scale's data set."""
    from types import SimpleNamespace

    from repro.config import scale_config
    from repro.data import CIFAR10_CLASSES, digits_split
    from repro.pipeline.classifiers import model_config
    from repro.pipeline.pretrain import build_autoencoder

    cfg = scale_config(scale)
    n = {"digits": lambda: len(digits_split("train").classes), "cifar10": lambda: len(CIFAR10_CLASSES)}[
        cfg.data.dataset]()
    models = {"AE": build_autoencoder(SimpleNamespace(cfg=cfg))}
    for k in cfg.classifiers.keys:
        m = model_config(cfg, k, n)
        models[k] = build_classifier(k, family=m["family"], num_classes=n, width=m["width"],
                                     input_size=m.get("input_size"))
    return cfg, models


@pytest.mark.parametrize("scale", ["smoke", "cpu"])
def test_models_command_prints_what_the_pipeline_builds(capsys, scale):
    """`repro models --scale S` shows the SegNet and classifiers `repro run --scale S` builds and logs
    (issue 24, item 7: it used to show width 1.0 classifiers and a 0.25 SegNet whatever the scale)."""
    cfg, models = _pipeline_models(scale)
    code, out, err = _models(capsys, "--scale", scale)
    assert code == 0, err
    first = out.splitlines()[0]
    side = cfg.data.image_size
    assert first.startswith(f"scale {scale}: {cfg.data.dataset} images at {side}x{side}"), first
    assert f"SegNet width {cfg.ae.width:g}" in first and f"width {cfg.classifiers.width:g}" in first, first
    rows = _table_rows(out)
    assert list(rows) == ["AE", *cfg.classifiers.keys]
    for key, model in models.items():
        name, width, size, params, _macs = rows[key]
        assert params == f"{sum(p.numel() for p in model.parameters()):,}", (key, rows[key])
        assert width == f"{cfg.ae.width if key == 'AE' else cfg.classifiers.width:g}"
        assert size == f"{side}x{side}"
        if key != "AE":
            assert name == model.spec.name  # as the classifiers stage logs it: "classifier L: LeNet-5 (...)"
    code, out, err = _models(capsys, "--scale", scale, "--json")
    assert code == 0, err
    table = json.loads(out)
    assert table["scale"] == scale and table["ae_width"] == cfg.ae.width
    assert {r["key"]: r["parameters"] for r in table["rows"]} == {
        k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    assert all(r["macs"] > 0 for r in table["rows"])


def test_models_command_default_scale_is_runs(capsys):
    """No --scale: the scale `repro run` defaults to."""
    from repro.commands.pipeline import add_config_arguments

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    default = parser.parse_args([]).scale
    assert _models(capsys, "--classifiers", "L")[1] == _models(capsys, "--scale", default, "--classifiers", "L")[1]


def test_models_command_takes_classifiers_and_set(capsys):
    """--classifiers restricts the rows (your own classifiers included) and --set changes the models."""
    spec = "torchvision:mobilenet_v3_small"
    code, out, err = _models(capsys, "--scale", "smoke", "--classifiers", f"V,L,mob={spec}",
                             "--set", "ae.width=0.25", "--set", "classifiers.width=0.5")
    assert code == 0, err
    assert "SegNet width 0.25" in out.splitlines()[0] and "width 0.5" in out.splitlines()[0]
    rows = _table_rows(out)
    assert list(rows) == ["AE", "V", "L", "mob"]
    assert rows["AE"][1] == "0.25" and rows["L"][1] == "0.5" and rows["mob"][1] == "own"
    lenet = build_classifier("L", family="cifar", num_classes=10, width=0.5)
    mob = build_classifier("mob", family="cifar", num_classes=10, spec=spec)
    assert rows["L"][3] == f"{sum(p.numel() for p in lenet.parameters()):,}"
    assert rows["mob"][3] == f"{sum(p.numel() for p in mob.parameters()):,}"
    assert rows["AE"][3] == f"{sum(p.numel() for p in SegNet(SegNetConfig(width=0.25)).parameters()):,}"


@pytest.mark.parametrize("argv,message", [
    (["--scale", "bogus"], "repro models: error: unknown scale 'bogus'; choose one of smoke, cpu, gpu, paper"),
    (["--classifiers", "mob=bogus_module_x:net"], "repro models: error: --classifiers: classifier "
                                                  "mob=bogus_module_x:net: cannot import module bogus_module_x"),
    (["--classifiers", "L,mob"], "repro models: error: --classifiers: unknown classifier 'mob'"),
    (["--set", "ae.width=-1"], "repro models: error: --set ae.width=-1: ae.width must be > 0"),
])
def test_models_command_bad_options_are_one_line(capsys, argv, message):
    """The same one-line errors as `repro run` (the same option code), no usage text, no traceback."""
    code, out, err = _models(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(message), err
