"""One writing command per output folder (issue 20, repro.folder_lock): a second one into a folder in use
stops at once with one line naming the folder and its holder, ``--wait`` waits for it, and a holder
killed with SIGKILL leaves no stale lock. The commands are real CLI processes; the holder is a small
process that takes the lock as every writing command does (a smoke run would take a minute)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.errors import ReproError
from repro.folder_lock import LOCK_FILE, hold

ROOT = Path(__file__).resolve().parents[1]

HOLDER = """
import sys, time
from repro.folder_lock import hold
with hold(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("REPRO_FAULT_KILL", "REPRO_CACHE", "WORLD_SIZE", "RANK")}


def _holder(folder: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), str(seconds)], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def repro(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repro.cli", *args], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


def test_a_second_command_into_a_folder_in_use_stops_with_one_line(tmp_path):
    out = tmp_path / "run"
    holder = _holder(out, 120)
    try:
        record = json.loads((out / LOCK_FILE).read_text())
        assert record["pid"] == holder.pid and record["command"] == f"repro {out} 120"  # its sys.argv
        for command in (["run", "--scale", "smoke", "--no-progress"], ["report", "--paper"]):
            t0 = time.monotonic()
            proc = repro(*command, "--out", str(out))
            assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
            assert proc.stderr.startswith(f"repro {command[0]}: error: {out} is in use by another repro command: "
                                          f"pid {holder.pid} on "), proc.stderr
            assert record["since"] in proc.stderr and "--wait" in proc.stderr
            assert time.monotonic() - t0 < 60  # at once, not after the holder's two minutes
        assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # nothing written: no run.log, no report
    finally:
        holder.kill()
        holder.wait()


def test_wait_waits_for_the_holder_and_then_runs(tmp_path):
    out = tmp_path / "run"
    holder = _holder(out, 3)
    try:
        proc = repro("report", "--paper", "--out", str(out), "--wait")
        assert holder.poll() == 0  # it ran after the holder had finished
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 0, proc.stderr
    waited = proc.stderr.splitlines()
    assert len(waited) == 1 and waited[0].startswith(f"repro report: {out} is in use by pid {holder.pid} on "), waited
    assert waited[0].endswith("waiting for it to finish (--wait)")
    assert (out / "claims.md").is_file() and not (out / LOCK_FILE).exists()  # the lock file goes with its holder


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    out = tmp_path / "run"
    holder = _holder(out, 120)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (out / LOCK_FILE).exists()  # its file stays, its lock does not
    proc = repro("report", "--paper", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "claims.md").is_file() and not (out / LOCK_FILE).exists()


def test_the_lock_is_refused_in_process_and_shared_by_the_ranks_of_one_run(tmp_path, monkeypatch):
    out = tmp_path / "run"
    with hold(out):
        holder = json.loads((out / LOCK_FILE).read_text())
        assert holder["pid"] == os.getpid()
        # another open of the file is another holder, even in this process
        with pytest.raises(ReproError, match=f"^{out} is in use by another repro command: pid {os.getpid()} "):
            with hold(out):
                pass
        # under torchrun rank 0 holds it for the run; the other ranks write nothing there and take nothing
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", "1")
        with hold(out):
            pass
        assert json.loads((out / LOCK_FILE).read_text()) == holder
    assert not (out / LOCK_FILE).exists()
