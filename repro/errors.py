"""Errors shared by the library and the CLI."""


class ReproError(Exception):
    """A problem with user input (a file, a setting, a name) that the CLI prints as one line.

    The message names the file or setting at fault and, where it helps, how to fix it.
    """


class WriteError(ReproError):
    """A file could not be written (a full disk, a read-only or protected folder): one line naming the
    file and what it holds, printed by the CLI like any :class:`ReproError` (exit 2).

    Files are written to a temporary name and renamed (:func:`repro.checkpoint.atomic_write`), so a
    failed write leaves the file as it was and a rerun resumes from the last checkpoint on disk.
    """


# What a file holds, by its name (the message of a failed write says it): the first match wins.
_FILE_KINDS = (
    (".repro.lock", "lock file"), ("state.pt", "training checkpoint"), ("model.pt", "model file"),
    ("done.json", "unit record"), ("results.json", "results"), ("per_image-", "per-image results"),
    ("claims.", "claims report"), ("replicates.", "replicates report"), ("run.log", "run log"),
    (".png", "figure"), (".pt", "checkpoint"), (".json", "record"),
)

# A fix for each errno that means "this place cannot be written", in the words of the message.
_FIXES = {"ENOSPC": "free some space", "EDQUOT": "free some space (disk quota)",
          "EROFS": "the file system is read-only: remount it or choose another --out",
          "EACCES": "make the folder writable or choose another --out",
          "EPERM": "make the folder writable or choose another --out"}


def file_kind(path) -> str:
    """What the file ``path`` holds, for a message.

    >>> file_kind("out/ckpt/pretrain/A_S/0a1b/state.pt"), file_kind("out/claims.html"), file_kind("x.bin")
    ('training checkpoint', 'claims report', 'file')
    """
    import os

    name = os.path.basename(os.fspath(path))
    return next((kind for pattern, kind in _FILE_KINDS if pattern in name), "file")


def os_error_in(err: BaseException) -> OSError | None:
    """The OSError behind ``err``: itself, or one in its chain of causes. ``torch.save`` to a file that
    fails to write raises ``RuntimeError: [enforce fail at inline_container.cc:...] unexpected pos``
    with the OSError ("No space left on device") only as the exception it was handling.

    >>> try:
    ...     try:
    ...         raise OSError(28, "No space left on device")
    ...     except OSError:
    ...         raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 3 vs 1")
    ... except RuntimeError as e:
    ...     os_error_in(e).strerror
    'No space left on device'
    """
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def write_error(path, err: OSError, what: str | None = None, *, atomic: bool = True) -> WriteError:
    """The one-line :class:`WriteError` for ``err`` raised while writing ``path`` (``what`` it holds: by
    default from its name).

    >>> str(write_error("o/ckpt/state.pt", OSError(28, "No space left on device")))
    'o/ckpt/state.pt: could not write the training checkpoint: No space left on device; nothing half-written was kept: free some space, then rerun the same command (finished work is kept)'
    """
    import errno as errno_names

    code = errno_names.errorcode.get(err.errno or 0, "")
    reason = err.strerror or str(err) or type(err).__name__
    kept = "nothing half-written was kept: " if atomic else ""
    fix = _FIXES.get(code, "fix that")
    return WriteError(f"{path}: could not write the {what or file_kind(path)}: {reason}; {kept}{fix}, "
                      "then rerun the same command (finished work is kept)")


class writing:
    """``with writing(path):`` turns a failed write of ``path`` (an OSError, or torch's RuntimeError
    around one) into :func:`write_error`'s one line; other errors pass unchanged."""

    def __init__(self, path, what: str | None = None, *, atomic: bool = True):
        self.path, self.what, self.atomic = path, what, atomic

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, err, tb) -> bool:
        if err is None or isinstance(err, ReproError) or not isinstance(err, (OSError, RuntimeError)):
            return False
        cause = os_error_in(err)
        if cause is None:
            return False
        raise write_error(self.path, cause, self.what, atomic=self.atomic) from err
