"""Your own classifiers through the whole pipeline (issue 11).

The registry (repro/models/classifiers.py, "Your own classifiers") decides what ``label=spec`` means;
the config carries the extras (classifiers.extra); each bad spec is a one-line error naming it; the
paper's five keep their unit keys; extras never change a verdict; the report places them in the
lattice and the RRC ranking. The two pipeline tests at the end run ``repro run`` at the smoke scale
with a factory from tests/extra_classifier.py and with a torchvision architecture.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from repro.config import apply_overrides, from_dict, parse_classifier_list, scale_config
from repro.errors import ReproError
from repro.models.classifiers import (
    RESERVED_LABELS,
    adapt_to_32,
    build_classifier,
    check_classifier_output,
    parse_extra,
)
from repro.models.weights import save_state_dict_atomic
from repro.results import Results, read_results_json

ROOT = Path(__file__).resolve().parents[1]
CPU = ROOT / "artifacts" / "cpu" / "results.json"
FACTORY = "tests.extra_classifier:factory"


def smoke(classifiers: str | None = None, sets: tuple[str, ...] = ()):
    return apply_overrides(scale_config("smoke"), classifiers=classifiers, sets=list(sets))


# -- the spec syntax and the config -------------------------------------------------------------------


def test_classifier_list_has_letters_aliases_and_labelled_specs():
    keys, extra = parse_classifier_list("l, vgg16_bn, cnx=torchvision:convnext_tiny@DEFAULT, mine=" + FACTORY)
    assert keys == ("L", "V", "cnx", "mine")
    assert extra == {"cnx": "torchvision:convnext_tiny@DEFAULT", "mine": FACTORY}
    spec = parse_extra("w", "tests.extra_classifier:factory@~/weights/w.pt")
    assert (spec.source, spec.name, spec.weights_kind, spec.architecture) == (
        "tests.extra_classifier", "factory", "file", FACTORY)
    assert spec.weights_path == Path.home() / "weights" / "w.pt" and not spec.trained
    assert parse_extra("t", "torchvision:resnet18").trained


def test_config_carries_the_extras_from_the_flag_and_from_set():
    cfg = smoke("L,V,mine=" + FACTORY)
    assert cfg.classifiers.keys == ("L", "V", "mine") and cfg.classifiers.extra == {"mine": FACTORY}
    # --set adds the labels to the run (label=spec or label:spec), and takes per-label epochs
    cfg = smoke("L", sets=("classifiers.extra=mob=torchvision:mobilenet_v3_small,mine:" + FACTORY,
                           "classifiers.epochs_by_key=mob:2"))
    assert cfg.classifiers.keys == ("L", "mob", "mine") and cfg.classifiers.epochs_for("mob") == 2
    assert smoke("L,mine=" + FACTORY, sets=("classifiers.extra=none",)).classifiers.keys == ("L",)
    assert json.loads(json.dumps(cfg.to_dict()))["classifiers"]["extra"]["mob"] == "torchvision:mobilenet_v3_small"
    assert from_dict(cfg.to_dict()).classifiers == cfg.classifiers


@pytest.mark.parametrize("sets, fragment", [
    (("classifiers.keys=L,mine",), "mine is neither"),  # a label needs a spec
    (("classifiers.epochs_by_key=mine:2",), "classifiers.epochs_by_key"),
])
def test_labels_must_have_specs(sets, fragment):
    with pytest.raises(ReproError, match=fragment) as err:
        smoke("L", sets=sets)
    assert "\n" not in str(err.value)


# Each bad spec: (the --classifiers text, a fragment of the one-line error). What a spec names is the
# registry's to check, where models are built, before anything is written or trained
# (repro.pipeline.classifiers.resolve_extras, which `repro run` calls first).
REGISTRY_ERRORS = [
    ("L,x=torchvision:convnxt_tiny", "unknown torchvision architecture 'convnxt_tiny' (did you mean convnext_tiny"),
    ("L,x=no_such_pkg.models:build", "cannot import module no_such_pkg.models (ModuleNotFoundError"),
    ("L,x=tests.extra_classifier:nope", "module tests.extra_classifier has no attribute 'nope'"),
    ("L,x=tests.extra_classifier:NOT_CALLABLE", "is not callable (type int)"),
    ("L,x=torchvision:resnet18@IMAGENET9K", "torchvision has no weights 'IMAGENET9K' for resnet18"),
    ("L,x=torchvision:resnet18@/no/such/w.pt", "weights file /no/such/w.pt does not exist"),
]


@pytest.mark.parametrize("text, fragment", REGISTRY_ERRORS)
def test_specs_naming_nothing_are_one_line_errors_before_anything_runs(text, fragment):
    from repro.config import extras_origin, override_origins
    from repro.pipeline.classifiers import resolve_extras

    cfg = smoke(text)  # the syntax is right: the configuration reads it
    with pytest.raises(ReproError) as err:
        resolve_extras(cfg, extras_origin(override_origins(classifiers=text)))
    message = str(err.value)
    assert fragment in message and "\n" not in message and message.startswith("--classifiers"), message
    assert text.split(",")[-1].split("@")[0] in message  # names the spec


# Checked when the configuration is read (syntax, labels), before anything is written.
CONFIG_ERRORS = [
    ("L,x=torchvision:resnet18@factory", "'@factory' means a factory's own weights"),
    ("L,x=tests.extra_classifier:factory@DEFAULT", "weights names such as DEFAULT are torchvision's"),
    ("L,x=torchvision:resnet18@", "nothing after '@'"),
    ("L,x=resnet18", "expected torchvision:ARCH or module.path:factory"),
    ("L,x=my-pkg:build", "is not a module path"),
    ("L,torchvision:resnet18", "needs a label, e.g. mine=torchvision:resnet18"),
    ("L,vgg=torchvision:resnet18", "it is a name of the paper's V"),
    ("L,r=torchvision:resnet18", "it is a name of the paper's R"),
    ("L,A_x=torchvision:resnet18", "must not start with 'A_'"),
    ("L,S=torchvision:resnet18", "a name results.json uses"),  # A_S is the pretrained AE
    ("L,b=torchvision:resnet18", "a name results.json uses"),  # LAB's b channel
    ("L,my net=torchvision:resnet18", "a label starts with a letter"),
    ("L,x=torchvision:resnet18,x=torchvision:resnet34", "names x twice"),
    ("L,Q", "unknown classifier 'Q'"),
]


@pytest.mark.parametrize("text, fragment", CONFIG_ERRORS)
def test_bad_specs_are_one_line_errors_when_the_config_is_read(text, fragment):
    with pytest.raises(ReproError) as err:
        smoke(text)
    message = str(err.value)
    assert fragment in message and "\n" not in message and message.startswith("--classifiers"), message
    if "=" in text.split(",")[-1]:
        assert text.split(",")[-1].split("@")[0] in message  # names the spec


def test_labels_differing_only_in_case_are_refused():
    with pytest.raises(ReproError, match="differ only in case"):
        smoke("L", sets=("classifiers.extra=mine=" + FACTORY + ",Mine=" + FACTORY,))


def _mismatched_file(tmp_path: Path) -> Path:
    path = tmp_path / "resnet18.pt"
    save_state_dict_atomic(torchvision.models.resnet18(num_classes=10).state_dict(), path)
    return path


# Bad specs that are found by building the network and running one batch of SegNet-sized images
# through it (repro.pipeline.classifiers.check_extras, before any stage runs).
BUILD_ERRORS = [
    ("x=tests.extra_classifier:raises", "the factory raised RuntimeError: out of coffee"),
    ("x=tests.extra_classifier:not_a_module", "the factory returned a dict, not a torch.nn.Module"),
    ("x=tests.extra_classifier:ten_is_seven", "returns 7 logits per image, but the data have 10 classes"),
    ("x=tests.extra_classifier:Needs224", "does not run on the SegNet's reconstructions ((2, 3, 32, 32)"),
    ("x=tests.extra_classifier:bad_size", "input_size must be a positive integer"),
    ("x=torchvision:inception_v3", "does not run on the SegNet's reconstructions"),  # too deep for 32x32
    ("x=torchvision:mobilenet_v3_small@DEFAULT", "drop '@DEFAULT', or use the imagenet family"),
    ("x=torchvision:mobilenet_v3_small@{file}", "does not fit MobileNetV3: "),
]


@pytest.mark.parametrize("text, fragment", BUILD_ERRORS)
def test_bad_specs_are_one_line_errors_before_any_stage(text, fragment, tmp_path, monkeypatch):
    from repro.pipeline.classifiers import check_extras

    def no_download(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("tried to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    text = text.format(file=_mismatched_file(tmp_path)) if "{file}" in text else text
    cfg = smoke("L," + text)
    with pytest.raises(ReproError) as err:
        check_extras(cfg)
    message = str(err.value)
    assert fragment in message and "\n" not in message and f"classifier {text}" in message, message


def test_the_cli_reports_a_bad_spec_in_one_line_before_writing_anything(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "repro.cli", "run", "--scale", "smoke", "--out", str(out), "--no-progress",
         "--classifiers", "L,x=tests.extra_classifier:ten_is_seven"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "classifier x=tests.extra_classifier:ten_is_seven: returns 7 logits" in lines[0]
    assert not out.exists()


def test_set_keys_keeps_labels_as_typed():
    cfg = smoke("l,mine=" + FACTORY, sets=("classifiers.keys=mine,v",))
    assert cfg.classifiers.keys == ("mine", "V")


def test_a_damaged_extras_model_file_names_the_command_with_its_spec(tmp_path):
    from repro.checkpoint import write_json_atomic
    from repro.pipeline.units import rebuild_hint

    config = smoke("L,mine=" + FACTORY).to_dict()
    for stage, unit in (("classifiers", "mine"), ("finetune", "A_mine")):
        folder = tmp_path / "run" / "ckpt" / stage / unit / "0123"
        folder.mkdir(parents=True)
        write_json_atomic(folder / "done.json", {"provenance": {"config": config}})
        assert f"--classifiers mine={FACTORY} --force" in rebuild_hint(folder / "model.pt")


# -- unit keys ---------------------------------------------------------------------------------------


def test_the_paper_fives_keys_do_not_change_when_extras_join():
    from repro.pipeline import unit_keys
    from repro.pipeline.config_guard import config_differences

    plain = smoke("L,V")
    mixed = smoke("L,V,mine=" + FACTORY)
    for k in ("L", "V"):
        assert unit_keys.classifier(plain, k) == unit_keys.classifier(mixed, k)
        assert unit_keys.finetune(plain, k) == unit_keys.finetune(mixed, k)
    assert unit_keys.pretrain(plain) == unit_keys.pretrain(mixed)
    # a configuration recorded before classifiers.extra existed is the same configuration
    old = plain.to_dict()
    del old["classifiers"]["extra"]
    assert config_differences(old, plain.to_dict()) == []
    assert unit_keys.evaluate(from_dict(old)) == unit_keys.evaluate(plain)
    assert config_differences(old, mixed.to_dict()) == [
        "classifiers.keys L,V -> L,V,mine", f"classifiers.extra (not recorded) -> mine:{FACTORY}"]


def test_an_extras_key_follows_its_spec_and_its_weights_by_content(tmp_path):
    from repro.pipeline import unit_keys

    net = build_classifier("m", family="cifar", num_classes=10, spec="torchvision:mobilenet_v3_small")
    a, b = tmp_path / "a" / "w.pt", tmp_path / "b" / "w.pt"
    for path in (a, b):
        path.parent.mkdir()
        save_state_dict_atomic(net.model.state_dict(), path)

    def key(spec: str) -> str:
        return unit_keys.classifier(smoke(f"L,m={spec}"), "m")

    assert key(f"torchvision:mobilenet_v3_small@{a}") == key(f"torchvision:mobilenet_v3_small@{b}")  # moved
    trained = key("torchvision:mobilenet_v3_small")
    assert trained != key(f"torchvision:mobilenet_v3_small@{a}") != key("torchvision:shufflenet_v2_x0_5")
    assert trained != unit_keys.classifier(smoke("L,m=torchvision:mobilenet_v3_small", ("classifiers.lr=0.1",)), "m")
    with torch.no_grad():
        next(net.model.parameters()).add_(1.0)
    save_state_dict_atomic(net.model.state_dict(), b)
    time.sleep(0.01)
    assert key(f"torchvision:mobilenet_v3_small@{a}") != key(f"torchvision:mobilenet_v3_small@{b}")  # changed


# -- building ----------------------------------------------------------------------------------------


def test_torchvision_architectures_are_adapted_to_32x32_like_the_zoo():
    torch.manual_seed(0)
    clf = build_classifier("r18", family="cifar", num_classes=10, spec="torchvision:resnet18")
    net = clf.model
    assert (net.conv1.kernel_size, net.conv1.stride, net.conv1.out_channels) == ((3, 3), (1, 1), 64)
    assert isinstance(net.maxpool, nn.Identity) and net.fc.out_features == 10
    assert clf.input_size == 32 and clf.normalizes  # the CIFAR family's normalisation, as the zoo
    features = nn.Sequential(*list(net.children())[:-2])
    assert features(torch.rand(1, 3, 32, 32)).shape[-2:] == (4, 4)  # the zoo's ResNet ends on 4x4 too
    mob = adapt_to_32(torchvision.models.mobilenet_v3_small(num_classes=10))
    assert mob.features[0][0].stride == (1, 1)
    check_classifier_output(build_classifier("m", family="cifar", num_classes=10,
                                             spec="torchvision:mobilenet_v3_small"), 10, 32)


def test_torchvision_architectures_at_the_paper_scale_keep_their_own_size_and_normalisation():
    with torch.device("meta"):
        cnx = build_classifier("cnx", family="imagenet", num_classes=1000, spec="torchvision:convnext_tiny")
        inc = build_classifier("inc", family="imagenet", num_classes=1000, spec="torchvision:inception_v3")
        eff = build_classifier("eff", family="imagenet", num_classes=1000, spec="torchvision:efficientnet_b3")
    assert (cnx.input_size, inc.input_size, eff.input_size) == (224, 299, 300)
    assert cnx.model.features[0][0].stride == (4, 4)  # not adapted
    assert cnx.normalizes and cnx.spec.normalization("imagenet") == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def test_torchvision_weights_names_go_through_the_weights_api(get_model_calls):
    calls = get_model_calls
    clf = build_classifier("cnx", family="imagenet", num_classes=1000, spec="torchvision:convnext_tiny@DEFAULT")
    assert calls == [("convnext_tiny", {"weights": torchvision.models.ConvNeXt_Tiny_Weights.IMAGENET1K_V1})]
    assert clf.input_size == 224
    with pytest.raises(ReproError, match="has 1000 classes; the data have 10"):
        build_classifier("cnx", family="imagenet", num_classes=10, spec="torchvision:convnext_tiny@IMAGENET1K_V1")


def test_a_factorys_module_normalises_itself_and_declares_its_size():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    clf = build_classifier("mine", family="cifar", num_classes=10, spec=FACTORY).eval()
    assert clf.input_size is None and not clf.normalizes
    with torch.no_grad():
        assert torch.equal(clf(x), clf.model(x))  # the wrapper neither resizes nor normalises
    big = build_classifier("big", family="cifar", num_classes=10, spec="tests.extra_classifier:fixed_48").eval()
    assert big.input_size == 48
    check_classifier_output(big, 10, 32)


@pytest.mark.parametrize("prefix", ["", "model."])
def test_weights_files_load_weights_only(tmp_path, prefix):
    torch.manual_seed(0)
    src = build_classifier("m", family="cifar", num_classes=10, spec="torchvision:mobilenet_v3_small").eval()
    path = tmp_path / "w.pt"
    save_state_dict_atomic(src.state_dict() if prefix else src.model.state_dict(), path)
    clf = build_classifier("m", family="cifar", num_classes=10, spec=f"torchvision:mobilenet_v3_small@{path}").eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(src(x), clf(x))
    mine = build_classifier("mine", family="cifar", num_classes=10, spec=FACTORY).eval()
    save_state_dict_atomic(mine.model.state_dict(), path)
    again = build_classifier("mine", family="cifar", num_classes=10, spec=f"{FACTORY}@{path}").eval()
    with torch.no_grad():
        assert torch.equal(mine(x), again(x))


def test_a_model_file_rebuilds_an_extra_without_its_weights_file(tmp_path):
    from repro.checkpoint import save_model_file
    from repro.pipeline.model_files import load_classifier

    torch.manual_seed(0)
    w = tmp_path / "w.pt"
    clf = build_classifier("mine", family="cifar", num_classes=10, spec=FACTORY).eval()
    save_state_dict_atomic(clf.model.state_dict(), w)
    spec = parse_extra("mine", f"{FACTORY}@{w}")
    save_model_file(tmp_path / "model.pt", "classifier",
                    {"name": "mine", "family": "cifar", "num_classes": 10, "width": 0.25, "spec": spec.rebuild_text},
                    clf)
    w.unlink()  # the model file does not need it
    back = load_classifier(tmp_path / "model.pt").eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(clf(x), back(x))


# -- results, verdicts and the report ---------------------------------------------------------------


def with_copy_of(data: dict, src: str = "V", label: str = "mine") -> dict:
    """``data`` (a results.json) with one more classifier ``label`` that is a copy of ``src`` wherever
    ``src`` or ``A_<src>`` is a key, at any depth: accuracies, the grid both ways, per-image values,
    noise, nMI, LAB, training records."""
    out = copy.deepcopy(data)
    provenance = out.pop("provenance", None)

    def walk(obj):
        if isinstance(obj, dict):
            for value in list(obj.values()):
                walk(value)
            for name, new in ((src, label), (f"A_{src}", f"A_{label}")):
                if name in obj:
                    obj[new] = copy.deepcopy(obj[name])
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    walk(out)
    out["classifiers"] = [*data["classifiers"], label]
    if provenance is not None:
        provenance = copy.deepcopy(provenance)
        provenance["config"]["classifiers"]["extra"] = {label: FACTORY}
        provenance["config"]["classifiers"]["keys"] = out["classifiers"]
        out["provenance"] = provenance
    return out


def _json_keys(obj, found: set[str]) -> set[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            found.add(k)
            _json_keys(v, found)
    elif isinstance(obj, list):
        for v in obj:
            _json_keys(v, found)
    return found


def reserved_gaps(data: dict) -> list[str]:
    """Keys of a results.json (all but provenance) that are neither a classifier, an AE, nor reserved."""
    names = {*data["classifiers"], *"LAVIR", "A_S", *(f"A_{c}" for c in [*data["classifiers"], *"LAVIR"])}
    found = _json_keys({k: v for k, v in data.items() if k != "provenance"}, set())
    return sorted(k for k in found - names if k.lower() not in RESERVED_LABELS)


@pytest.mark.skipif(not CPU.is_file(), reason="no committed cpu results")
def test_reserved_labels_cover_every_key_of_results_json():
    assert reserved_gaps(read_results_json(CPU)) == []


@pytest.mark.skipif(not CPU.is_file(), reason="no committed cpu results")
def test_an_extra_classifier_changes_no_verdict():
    from repro.claims import evaluate

    data = read_results_json(CPU)
    plain, mixed = Results.from_dict(data), Results.from_dict(with_copy_of(data))
    assert mixed.classifiers == [*plain.classifiers, "mine"] and mixed.grid().shape == (6, 6)
    assert mixed.acc("A_mine", "L") == plain.acc("A_V", "L") and mixed.acc("A_L", "mine") == plain.acc("A_L", "V")
    before = [v.to_dict() for v in evaluate(plain, resamples=20)]
    assert [v.to_dict() for v in evaluate(mixed, resamples=20)] == before
    # an extra that would change every grid claim if it were read (it beats every classifier everywhere)
    loud = with_copy_of(data)
    for table in ("top1", "top5"):
        for row in loud["accuracy"][table].values():
            row["mine"] = 1.0
        loud["accuracy"][table]["A_mine"] = {c: 1.0 for c in loud["classifiers"]}
    assert [v.to_dict() for v in evaluate(Results.from_dict(loud), resamples=20)] == before


def test_an_extra_classifier_changes_no_verdict_on_the_papers_tables():
    from repro.claims import evaluate
    from repro.paper import paper_results

    paper = paper_results()
    top1 = copy.deepcopy(paper.top1)
    for row in top1.values():
        row["mine"] = 0.99
    top1["A_mine"] = {c: 0.01 for c in [*paper.classifiers, "mine"]}
    mixed = replace(paper, classifiers=[*paper.classifiers, "mine"], top1=top1)
    assert [v.to_dict() for v in evaluate(mixed)] == [v.to_dict() for v in evaluate(paper)]


@pytest.mark.skipif(not CPU.is_file(), reason="no committed cpu results")
def test_the_report_places_an_extra_in_the_lattice_and_the_rrc_ranking(tmp_path):
    from repro.report import ReportContext
    from repro.your_classifiers import HEADING, your_classifiers_section

    data = read_results_json(CPU)
    ctx = ReportContext(results=Results.from_dict(with_copy_of(data)), paper=None, out=tmp_path, verdicts=[],
                        consistency=[], is_paper=False)
    (section,) = your_classifiers_section(ctx)
    md = section.markdown
    assert section.heading == HEADING and "**mine**" in md and FACTORY in md
    assert "| A_mine " in md and "#### RRC ranking" in md and "#### Concept lattices" in md
    ranking = ctx.payload["your_classifiers"]["ranking"]
    assert {d["classifier"] for d in ranking} == {"L", "A", "V", "I", "R", "mine"}
    by = {d["classifier"]: d for d in ranking}
    assert by["mine"]["gives"] == pytest.approx(by["V"]["gives"], abs=0.05)  # a copy of V: beside V
    for label, record in ctx.payload["your_classifiers"]["thresholds"].items():
        assert "mine" in record and (tmp_path / "figures" / f"yours_lattice_t{label}.png").is_file()
        assert "A_mine" in record["mine"]["takes"] or not record["mine"]["takes"]  # its own AE first
    assert "t = 0.2" in md and "mine takes {" in md
    # no extras, no section
    assert your_classifiers_section(ReportContext(results=Results.from_dict(data), paper=None, out=tmp_path,
                                                  verdicts=[], consistency=[], is_paper=False)) == []


# -- the pipeline at the smoke scale (the "Done when") --------------------------------------


def repro(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "repro.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
    return proc


def check_run(out: Path, label: str, spec: str) -> dict:
    """``label`` is in results.json (Table 1, the grid both ways, noise, nMI, LAB), in the claims report's
    "Your classifiers" section, and its model file rebuilds; every claim is decided as without it."""
    from repro.pipeline.model_files import load_classifier

    data = read_results_json(out / "results.json")
    res = Results.from_dict(data)
    assert res.classifiers == ["L", "V", label]
    assert res.grid().shape == (3, 3)
    for ae in ("none", "A_S", "A_L", "A_V", f"A_{label}"):
        assert 0.0 <= res.acc(ae, label) <= 1.0  # column: every AE on the new classifier
    for clf in ("L", "V", label):
        assert 0.0 <= res.acc(f"A_{label}", clf) <= 1.0  # row: its AE on every classifier
    assert label in data["noise"]["top1"]["A_S"] and label in data["noise"]["top1"][f"A_{label}"]
    assert f"A_{label}" in data["nmi"]["intra"]["arithmetic"] and f"A_{label}" in data["lab"]
    assert data["classifier_training"][label]["source"] == "trained"
    assert data["provenance"]["config"]["classifiers"]["extra"] == {label: spec}
    assert reserved_gaps(data) == []
    md = (out / "claims.md").read_text()
    assert "## Your classifiers" in md and f"**{label}**" in md and "#### RRC ranking" in md
    assert "Your classifiers" in (out / "claims.html").read_text()
    unit = next(p for p in (out / "ckpt" / "classifiers" / label).iterdir() if p.is_dir())
    clf = load_classifier(unit / "model.pt").eval()
    with torch.no_grad():
        assert clf(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    return data


@pytest.fixture(scope="module")
def factory_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("extra") / "run"
    repro("run", "--scale", "smoke", "--out", str(out), "--no-progress", "--classifiers", f"L,V,mine={FACTORY}")
    return out


@pytest.mark.slow
def test_a_factory_classifier_goes_through_the_whole_pipeline(factory_run):
    check_run(factory_run, "mine", FACTORY)
    log = (factory_run / "run.log").read_text()
    assert "classifier mine: done" in log and "finetune A_mine: done" in log


@pytest.mark.slow
def test_a_torchvision_architecture_goes_through_the_whole_pipeline(factory_run):
    spec = "torchvision:mobilenet_v3_small"
    proc = repro("run", "--scale", "smoke", "--out", str(factory_run), "--no-progress", "--replace",
                 "--classifiers", f"L,V,mob={spec}")
    # the paper's classifiers and their AEs are reused: an extra joining a run retrains nothing else
    for unit in ("pretrain: cached", "classifier L: cached", "classifier V: cached", "finetune A_V: cached"):
        assert unit in proc.stderr
    assert "classifier mob: mob (torchvision:mobilenet_v3_small) (cifar" in proc.stderr
    check_run(factory_run, "mob", spec)


@pytest.mark.skipif(not CPU.is_file(), reason="no committed cpu results")
def test_a_run_without_the_five_says_why_and_shows_its_own_results_first(tmp_path):
    """Issue 24, item 4: `--classifiers L,V,mob=...` measures no claim; the report says why at the top and
    puts the run's own results (Your classifiers) right after the summary, not under 40 empty blocks."""
    from repro.report import build_report, missing_text

    full = Results.from_dict(with_copy_of(read_results_json(CPU)))
    part = replace(full, classifiers=["L", "V", "mine"])
    payload = build_report(part, tmp_path, resamples=20)
    md = (tmp_path / "claims.md").read_text()
    # (this copy still holds A's, I's and R's numbers, which a few colour and noise claims read by AE name;
    # a real run without them has none, and all 40 are not measured)
    n = payload["counts"]["not measured"]
    assert n >= 30 and f"**{n} of {len(payload['claims'])} claims are not measured because" in md
    assert [ln for ln in md.splitlines() if ln.startswith("## ")][:2] == ["## Summary", "## Your classifiers"]
    summary = md.split("## Your classifiers")[0]
    assert missing_text(part.classifiers) in summary and "--classifiers L,A,V,I,R,mine" in summary
    assert "#### table1.as_below" not in md and "- **table1.as_below**: not measured." in md
    # with the five, the usual order and every claim's block
    build_report(full, tmp_path / "full", resamples=20)
    md = (tmp_path / "full" / "claims.md").read_text()
    assert "#### table1.as_below" in md and missing_text(full.classifiers) == ""
    assert md.index("## Your classifiers") > md.index("## Claims: ")
