"""What a new user reads (issue 24, item 8): plain-text --help, "1 epoch" / "2 epochs", "an int", log
lines that say which time is which, and one prefix for every error of --classifiers."""

from __future__ import annotations

import argparse
import re
from types import SimpleNamespace

import pytest

from repro import cli

MARKUP = re.compile(r"`|:(mod|func|class|meth|data|attr):")


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": parser, **sub.choices}


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_is_plain_text(name):
    text = _commands()[name].format_help()
    assert not MARKUP.search(text), f"repro {name} --help shows markup: {MARKUP.search(text).group(0)!r}\n{text}"


def test_plain_text_keeps_what_the_markup_encloses():
    assert cli.plain_text("``--out DIR`` (:mod:`repro.paths`, `repro run`)") == "--out DIR (repro.paths, repro run)"


def test_log_lines_count_in_words_and_say_whose_time():
    from repro.pipeline import classifiers, evaluate, finetune, pretrain

    pre = {"epochs": 1, "images_seen": 512, "train_mse": 0.05, "val_mse": 0.04, "best_images_seen": 512,
           "lr_final": 0.01, "time_s": 61.0}
    assert pretrain._line(pre).startswith("1 epoch, 512 images seen")
    assert pretrain._line({**pre, "epochs": 2}).startswith("2 epochs, ")
    clf = {"source": "trained", "epochs": 1, "top1": 0.5, "top5": 0.9, "time_s": 0.8}
    assert classifiers._line(clf) == ("1 epoch, test top-1 0.5000, top-5 0.9000, 0.8s over every session of "
                                      "this unit")
    ft = {"trainable": "decoder", "images_seen": 512, "stop_reason": "cap of 1 epoch", "time_s": 6.8,
          "best": {"images_seen": 512, "heldout_loss": 2.3, "heldout_top1": 0.1}}
    assert finetune._line(ft).endswith("top-1 0.1000), 6.8s over every session of this unit")
    top1 = {"none": {"L": 0.5}, "A_S": {"L": 0.4}, "A_L": {"L": 0.45}}
    line = evaluate._line({"classifiers": ["L"], "accuracy": {"top1": top1}, "timings_s": {"total": 77.0}})
    assert line.endswith("; 1m17s over every session of every unit, evaluation included")
    for text in (pretrain._line(pre), classifiers._line(clf), finetune._line(ft), line):
        assert "(s)" not in text and "total" not in text


def test_the_report_counts_your_classifiers_epochs_in_words():
    from repro.your_classifiers import _training_line

    def line(record):
        return _training_line(SimpleNamespace(raw={"classifier_training": {"mine": record}}), "mine")

    assert line({"source": "trained", "epochs": 1}) == "trained here, 1 epoch"
    assert line({"source": "trained", "epochs": 3}) == "trained here, 3 epochs"
    assert line({"source": "trained"}) == "trained here"


def test_a_stage_line_says_its_time_is_this_runs(monkeypatch):
    from repro.pipeline import stages

    lines: list[str] = []
    monkeypatch.setattr(stages, "STAGES", {"pretrain": lambda ctx: {"val_mse": 0.01, "images_seen": 8}})
    stages.run_stages(SimpleNamespace(info=lines.append), ["pretrain"])
    assert re.fullmatch(r"== pretrain: A_S val MSE 0\.01000 after 8 images \[\d+\.\ds this run\]", lines[0]), lines


# Every error of --classifiers starts with the same words, whether the configuration finds it (the
# list's syntax, labels) or the registry does before any stage runs (what a spec names, what it builds).
CLASSIFIER_ERRORS = [
    ("L,X", "unknown classifier 'X'"),
    ("", "names no classifier"),
    ("L,L", "names L twice"),
    ("L,mob=torchvision:resnet18,mob=torchvision:resnet34", "names mob twice"),
    ("L,torchvision:resnet18", "needs a label"),
    ("L,V=torchvision:resnet18", "it is a name of the paper's V"),
    ("L,mob=torchvision:nope", "unknown torchvision architecture 'nope'"),
    ("L,mob=badsource:x", "cannot import module badsource"),
    ("L,mob=tests.extra_classifier:nope", "has no attribute 'nope'"),
    ("L,mob=torchvision:resnet18@/nonexistent/w.pt", "does not exist"),
    ("L,mob=tests.extra_classifier:ten_is_seven", "returns 7 logits per image"),
    ("L,mob=repro_wording_int_factory:build", "the factory returned an int, not a torch.nn.Module"),
]


@pytest.mark.parametrize("text, fragment", CLASSIFIER_ERRORS)
def test_classifiers_errors_share_one_prefix(text, fragment, tmp_path, monkeypatch, capsys):
    (tmp_path / "repro_wording_int_factory.py").write_text("def build(num_classes=10):\n    return 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "run"
    code = cli.main(["run", "--scale", "smoke", "--out", str(out), "--no-progress", "--classifiers", text])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("repro run: error: --classifiers: ") and fragment in err, err
    assert not out.exists()  # found before anything is written
