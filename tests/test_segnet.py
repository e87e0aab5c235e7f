"""SegNet autoencoder (repro/models/segnet.py): layout, sizes, freezing, VGG16-BN initialisation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from repro.errors import ReproError
from repro.models import SegNet, SegNetConfig

SMALL = SegNetConfig(width=0.0625)  # stages of 4, 8, 16, 32, 32 channels: big inputs stay cheap


def _bn_stats(module: nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: buf.clone()
        for name, buf in module.named_buffers()
        if name.endswith(("running_mean", "running_var", "num_batches_tracked"))
    }


def _vgg16_bn_features_meta() -> nn.Module:
    with torch.device("meta"):  # shapes and names only: no 138M-parameter initialisation
        return torchvision.models.vgg16_bn(weights=None).features


def test_encoder_matches_torchvision_vgg16_bn_features():
    ref = {k: tuple(v.shape) for k, v in _vgg16_bn_features_meta().state_dict().items()}
    with torch.device("meta"):
        ae = SegNet(SegNetConfig())
    ours = {k: tuple(v.shape) for k, v in ae.encoder.state_dict().items()}
    assert ours == ref
    assert [tuple(p.shape) for p in ae.encoder_parameters()] == [
        tuple(p.shape) for p in _vgg16_bn_features_meta().parameters()
    ]
    assert sum(1 for m in ae.encoder.modules() if isinstance(m, nn.Conv2d)) == 13


def test_decoder_mirrors_encoder_and_ends_in_1x1_conv():
    with torch.device("meta"):
        ae = SegNet(SegNetConfig())
    convs = [m for m in ae.decoder.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 14  # 13 mirrored 3x3 convs + the 1x1 head
    head = convs[-1]
    assert head.kernel_size == (1, 1) and head.out_channels == 3 and head.in_channels == 64
    enc = [m for m in ae.encoder.modules() if isinstance(m, nn.Conv2d)]
    # decoder conv i mirrors encoder conv 12 - i: it maps the encoder conv's output width back to its input width
    for e, d in zip(reversed(enc[1:]), convs[:-2]):
        assert (d.in_channels, d.out_channels) == (e.out_channels, e.in_channels)


def test_load_vgg16_bn_features_from_state_dict():
    meta = _vgg16_bn_features_meta().state_dict()
    gen = torch.Generator().manual_seed(0)
    state = {
        f"features.{k}": (
            torch.randint(0, 100, v.shape, generator=gen)
            if v.dtype == torch.long
            else torch.randn(v.shape, generator=gen)
        ).to(v.dtype)
        for k, v in meta.items()
    }
    state["classifier.6.bias"] = torch.zeros(1000)  # the rest of a full vgg16_bn state dict is ignored
    ae = SegNet(SegNetConfig())
    ae.load_vgg16_bn_features(state)
    for k, v in ae.encoder.state_dict().items():
        assert torch.equal(v, state[f"features.{k}"]), k


def test_load_vgg16_bn_features_from_real_torchvision_module():
    # vgg16_bn(weights=None).features, without initialising the 123M-parameter classifier head
    from torchvision.models.vgg import cfgs, make_layers

    features = make_layers(cfgs["D"], batch_norm=True)
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    ae = SegNet(SegNetConfig())
    ae.load_vgg16_bn_features(state)
    x = torch.rand(1, 3, 32, 32)
    features.eval(), ae.eval()
    with torch.no_grad():
        assert torch.allclose(ae.encoder(x)[0], features(x), atol=1e-6)  # ceil_mode is a no-op at 32


def test_load_vgg16_bn_features_errors():
    with pytest.raises(ReproError, match="width 1.0"):
        SegNet(SMALL).load_vgg16_bn_features({})
    ae = SegNet(SegNetConfig())
    state = {f"features.{k}": torch.zeros(v.shape, dtype=v.dtype) for k, v in ae.encoder.state_dict().items()}
    state["features.0.weight"] = torch.zeros(64, 1, 3, 3)
    with pytest.raises(ReproError, match="shape mismatch.*features.0.weight"):
        ae.load_vgg16_bn_features(state)
    del state["features.0.weight"]
    with pytest.raises(ReproError, match="1 missing keys.*features.0.weight"):
        ae.load_vgg16_bn_features(state)


@pytest.mark.parametrize("size", [32, 224, 256, 299, 45])
def test_output_shape_and_range_at_any_size(size):
    torch.manual_seed(0)
    ae = SegNet(SMALL).eval()
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        y = ae(x)
    assert y.shape == x.shape
    assert y.min() > 0 and y.max() < 1  # sigmoid output, strictly inside [0, 1]


def test_non_square_and_train_mode():
    ae = SegNet(SMALL).train()
    x = torch.rand(2, 3, 37, 50, requires_grad=True)
    y = ae(x)
    assert y.shape == x.shape
    y.mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_rejects_wrong_channels():
    with pytest.raises(ReproError, match="expects a"):
        SegNet(SMALL)(torch.rand(1, 1, 32, 32))


def test_config_and_parameter_groups():
    ae = SegNet(SMALL)
    assert ae.config == SMALL
    assert SMALL.stage_widths == (4, 8, 16, 32, 32)
    enc, dec = set(map(id, ae.encoder_parameters())), set(map(id, ae.decoder_parameters()))
    assert enc and dec and not (enc & dec)
    assert enc | dec == set(map(id, ae.parameters()))
    with pytest.raises(ReproError):
        SegNetConfig(width=0)


@pytest.mark.parametrize(
    "part,enc_grad,dec_grad",
    [("decoder", False, True), ("encoder", True, False), ("both", True, True), ("none", False, False)],
)
def test_set_trainable_flags_and_modes(part, enc_grad, dec_grad):
    ae = SegNet(SMALL)
    ae.set_trainable(part)
    ae.train()
    assert all(p.requires_grad == enc_grad for p in ae.encoder_parameters())
    assert all(p.requires_grad == dec_grad for p in ae.decoder_parameters())
    assert ae.encoder.training == enc_grad and all(m.training == enc_grad for m in ae.encoder.modules())
    assert ae.decoder.training == dec_grad
    ae.eval()
    assert not any(m.training for m in ae.modules())
    assert ae.trainable == part


def test_set_trainable_rejects_unknown_part():
    with pytest.raises(ReproError, match="decoder"):
        SegNet(SMALL).set_trainable("head")


def test_decoder_only_training_step_leaves_encoder_untouched():
    torch.manual_seed(0)
    ae = SegNet(SMALL)
    ae.set_trainable("decoder")
    ae.train()
    enc_params = [p.detach().clone() for p in ae.encoder_parameters()]
    enc_stats = _bn_stats(ae.encoder)
    dec_stats = _bn_stats(ae.decoder)
    dec_params = [p.detach().clone() for p in ae.decoder_parameters()]
    opt = torch.optim.SGD([p for p in ae.parameters() if p.requires_grad], lr=0.1, momentum=0.9)
    x = torch.rand(4, 3, 32, 32)
    loss = F.mse_loss(ae(x), x)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert all(p.grad is None for p in ae.encoder_parameters())
    assert all(torch.equal(a, b) for a, b in zip(enc_params, ae.encoder_parameters()))
    after = _bn_stats(ae.encoder)
    assert all(torch.equal(enc_stats[k], after[k]) for k in enc_stats)
    # ...while the decoder did train and update its statistics
    assert all(p.grad is not None for p in ae.decoder_parameters())
    assert any(not torch.equal(a, b) for a, b in zip(dec_params, ae.decoder_parameters()))
    assert any(not torch.equal(dec_stats[k], v) for k, v in _bn_stats(ae.decoder).items())
