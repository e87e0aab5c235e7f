"""Two gloo processes take the same fine-tuning steps as one process (the DDP path of the pipeline).

Replaces a comparison of two noisy fine-tuning gains (0.028 nats, compared within 10%), which failed
whenever the two runs' BatchNorm batch statistics drifted apart: here BatchNorm is frozen, so equality
holds by construction up to the order of floating-point sums (see tests/ddp_step.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "ddp_step.py"


def _run(args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REPRO_FAULT_KILL",)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.mark.slow
def test_two_processes_take_the_steps_of_one(tmp_path):
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    _run([sys.executable, str(SCRIPT), str(one)])
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(SCRIPT), str(two)])
    torch.manual_seed(0)
    from repro.models.segnet import SegNet, SegNetConfig

    start = SegNet(SegNetConfig(width=0.125)).decoder.state_dict()  # the same seeded initialisation
    a, b = torch.load(one, weights_only=True), torch.load(two, weights_only=True)
    moved = max(float((a[k].float() - start[k].float()).abs().max()) for k in a)
    gap = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    # The steps moved the decoder far beyond float rounding; the two runs agree to rounding.
    assert moved > 1e-3, moved
    assert gap < 1e-5, (gap, moved)
