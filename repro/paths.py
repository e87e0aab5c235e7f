"""Where the project looks for data and writes results (one place, overridable by environment)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from repro.errors import ReproError, writing

REPO_ROOT = Path(__file__).resolve().parents[1]


def artifacts_dir(name: str | None = None) -> Path:
    """``$REPRO_ARTIFACTS`` or ``artifacts/`` of the checkout; ``name`` picks a run's sub-folder."""
    root = Path(os.environ.get("REPRO_ARTIFACTS", REPO_ROOT / "artifacts"))
    return root / name if name else root


def ensure_writable_dir(path: str | os.PathLike, what: str) -> Path:
    """Create the folder ``path`` (with its parents) if missing and check that a file can be written there.

    Called before any work, so that a bad output folder is a one-line :class:`ReproError` naming
    ``what`` (the option, e.g. ``"--out"``) and the path, not a traceback after the work is done: a file
    in the way, a parent that is a file, no permission, a read-only file system. The check writes and
    removes a probe file instead of asking ``os.access``, which says yes to root on a write-protected
    folder and knows nothing of read-only mounts.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ensure_writable_dir(Path(tmp) / "a" / "b", "--out").is_dir()
    True
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ReproError(f"{what} {p}: is a file, not a folder; give a folder (it is created if missing)")
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as err:
        raise ReproError(f"{what} {p}: cannot write there ({err.strerror or err}); "
                         "choose another folder or make this one writable") from None
    return p


def new_file_mode() -> int:
    """The mode a new file gets from ``open`` under the process's umask (0644 under umask 0022).

    The atomic writers create their temporary file with :func:`tempfile.mkstemp`, which makes it 0600
    whatever the umask, so that results, reports and models were unreadable to a collaborator on the same
    machine; they give it this mode before renaming it into place.

    >>> old = os.umask(0o022); mode = new_file_mode(); _ = os.umask(old); oct(mode)
    '0o644'
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_text_atomic(path: Path, text: str | bytes) -> None:
    """Write via a temporary file in the same folder and rename, so a reader never sees half a file; a
    failed write is a one-line :class:`repro.errors.WriteError` naming ``path``."""
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            os.fchmod(fd, new_file_mode())  # mkstemp's 0600 would keep collaborators out
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode() if isinstance(text, str) else text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
