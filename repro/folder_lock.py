"""One writing command per output folder: an advisory lock on ``<out>/.repro.lock``.

Two runs into one folder at once used to lose one of them silently (both exited 0; results.json held
one, run.log interleaved both): the guard against replacing a finished run of other settings
(:mod:`repro.pipeline.config_guard`) cannot see a run that has not finished. Every command that
writes into a run folder (``repro run``, the single-stage commands, ``ceiling``, ``calibrate``,
``report``) holds this lock while it works; a second one stops at once with one line naming the folder
and the process holding it (pid, host, command, since when), or with ``--wait`` waits for it.

``fcntl.flock`` is released by the kernel when its holder dies, so a run killed with SIGKILL leaves
no stale lock (only its lock file, which the next holder rewrites). The holder removes the file when
it is done; a process that had waited on the removed file notices and locks the new one. The lock
belongs to the process's open file, which forked children (DataLoader workers) would share and keep
after a SIGKILL of their parent: they close their copy at fork. Under torchrun the ranks of one run
share the lock: rank 0 takes it before it joins the process group, and the other ranks, which write
nothing into the folder (repro.distributed), wait for rank 0 there. A lock held over NFS is as good as
the server's lock support.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from repro.errors import ReproError, writing
from repro.paths import ensure_writable_dir

LOCK_FILE = ".repro.lock"

_HELD: dict[int, Path] = {}  # fd -> lock file, of this process
_AT_FORK = False


def _close_in_child() -> None:
    for fd in list(_HELD):
        with contextlib.suppress(OSError):
            os.close(fd)  # not LOCK_UN: that would release the parent's lock too
    _HELD.clear()


def _is_other_rank() -> bool:
    """A torchrun process other than rank 0 (read from the environment torchrun sets: the lock is taken
    before the process group is joined)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and int(os.environ.get("RANK", "0")) != 0


def command_line() -> str:
    """This process's command, as the user would type it."""
    return shlex.join(["repro", *sys.argv[1:]])


def describe_holder(text: str) -> str:
    """The holder a lock file records, for a message.

    >>> describe_holder('{"pid": 7, "host": "h", "since": "2026-01-02 03:04:05", "command": "repro run"}')
    'pid 7 on h since 2026-01-02 03:04:05 (repro run)'
    >>> describe_holder("")
    'a process that has not written its name yet'
    """
    try:
        h = json.loads(text)
        return f"pid {h['pid']} on {h['host']} since {h['since']} ({h['command']})"
    except (ValueError, TypeError, KeyError):
        return "a process that has not written its name yet"


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _holder(fd: int) -> str:
    # The holder writes its name right after it locks: give it a moment when it has not yet.
    for _ in range(20):
        text = _read(fd)
        if text:
            return describe_holder(text)
        time.sleep(0.05)
    return describe_holder("")


@contextlib.contextmanager
def hold(out: str | os.PathLike, *, wait: bool = False, label: str = "repro") -> Iterator[None]:
    """Hold the lock of the run folder ``out`` (created if missing) for the block.

    Taken by another process: a :class:`ReproError` naming the folder and the holder, or with ``wait``
    one line on stderr (``label``: the command) and a wait until it is free.
    """
    if _is_other_rank():
        yield
        return

    folder = ensure_writable_dir(out, "--out")
    path = folder / LOCK_FILE
    fd = _lock(path, folder, wait, label)
    try:
        with writing(path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                      "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                                      "command": command_line()}).encode() + b"\n", 0)
        yield
    finally:
        _HELD.pop(fd, None)
        with contextlib.suppress(OSError):
            path.unlink()  # while still locked: a waiter on this file retries on the path's new file
        os.close(fd)


def _lock(path: Path, folder: Path, wait: bool, label: str) -> int:
    """An fd of ``path`` holding its exclusive lock, ``path`` still naming that file."""
    global _AT_FORK
    if not _AT_FORK:
        os.register_at_fork(after_in_child=_close_in_child)
        _AT_FORK = True
    told = False
    while True:
        with writing(path):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                if not wait:
                    raise ReproError(f"{folder} is in use by another repro command: {holder}; let it finish, "
                                     "or pass --wait to start when it has") from None
                if not told:
                    print(f"{label}: {folder} is in use by {holder}; waiting for it to finish (--wait)",
                          file=sys.stderr, flush=True)
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            _HELD[fd] = path
            return fd
        os.close(fd)  # the holder we waited for removed this file: lock the one now at the path
