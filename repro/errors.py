"""Errors shared by the library and the CLI."""


class ReproError(Exception):
    """A problem with user input (a file, a setting, a name) that the CLI prints as one line.

    The message names the file or setting at fault and, where it helps, how to fix it.
    """
