"""State-dict files (repro/models/weights.py): loading with clear errors, atomic saving."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from repro.errors import ReproError
from repro.models import load_state_dict_file, save_state_dict_atomic


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    net = _net()
    path = tmp_path / "net.pt"
    save_state_dict_atomic(net.state_dict(), path)
    return net, path


def test_round_trip_into_module(saved):
    net, path = saved
    other = _net()
    state = load_state_dict_file(path, other)
    assert set(state) == set(net.state_dict())
    for k, v in net.state_dict().items():
        assert torch.equal(other.state_dict()[k], v) and torch.equal(state[k], v)


def test_loads_with_weights_only(saved, monkeypatch):
    _, path = saved
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_state_dict_file(path)
    assert seen.get("weights_only") is True


class _Payload:
    """Not allowed by the weights-only unpickler."""


def test_arbitrary_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(1), "obj": _Payload()}, path)
    with pytest.raises(ReproError, match=r"evil\.pt.*cannot be read"):
        load_state_dict_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(ReproError, match=r"nothere\.pt does not exist"):
        load_state_dict_file(tmp_path / "nothere.pt")
    with pytest.raises(ReproError, match="not a file"):
        load_state_dict_file(tmp_path)


def test_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(ReproError, match=r"corrupt\.pt.*corrupt, truncated"):
        load_state_dict_file(path)


def test_truncated_file(saved, tmp_path):
    _, path = saved
    cut = tmp_path / "cut.pt"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReproError, match=r"cut\.pt.*corrupt, truncated"):
        load_state_dict_file(cut)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(ReproError, match=r"empty\.pt"):
        load_state_dict_file(empty)


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(ReproError, match=r"list\.pt does not hold a state dict"):
        load_state_dict_file(path)


def test_mismatched_file_names_file_and_key(saved, tmp_path):
    _, path = saved
    wrong = nn.Sequential(nn.Conv2d(3, 5, 3), nn.BatchNorm2d(5), nn.Flatten(), nn.Linear(5, 2))
    msg = r"net\.pt does not fit Sequential: .*shape mismatches .*'0.bias': file \(4,\), model \(5,\)"
    with pytest.raises(ReproError, match=msg):
        load_state_dict_file(path, wrong)
    bigger = nn.Sequential(*_net(), nn.Linear(2, 2))
    with pytest.raises(ReproError, match=r"net\.pt.*2 missing keys .e.g. '4.bias'"):
        load_state_dict_file(path, bigger)
    smaller = nn.Sequential(nn.Conv2d(3, 4, 3))
    with pytest.raises(ReproError, match=r"net\.pt.*unexpected keys"):
        load_state_dict_file(path, smaller)


def test_checkpoint_wrappers_and_dataparallel_prefix(saved, tmp_path):
    net, _ = saved
    for i, obj in enumerate(
        [
            {"state_dict": net.state_dict(), "epoch": 3},
            {"model": {f"module.{k}": v for k, v in net.state_dict().items()}, "optimizer": {}},
        ]
    ):
        path = tmp_path / f"ckpt{i}.pt"
        torch.save(obj, path)
        other = _net()
        load_state_dict_file(path, other)
        assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), other.state_dict().values()))


def test_atomic_save_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "w.pt"
    save_state_dict_atomic({"a": torch.ones(2)}, path)
    save_state_dict_atomic({"a": torch.zeros(2)}, path)
    assert torch.equal(load_state_dict_file(path)["a"], torch.zeros(2))
    assert os.listdir(path.parent) == ["w.pt"]


def test_interrupted_save_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "w.pt"
    save_state_dict_atomic({"a": torch.ones(2)}, path)

    def failing_save(obj, fh, *args, **kwargs):
        fh.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        save_state_dict_atomic({"a": torch.zeros(2)}, path)
    monkeypatch.undo()
    assert torch.equal(load_state_dict_file(path)["a"], torch.ones(2))
    assert os.listdir(tmp_path) == ["w.pt"]
