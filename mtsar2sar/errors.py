"""Errors raised on bad user input (files, config)."""


class InputError(ValueError):
    """A user-supplied file or setting cannot be used; the message names it and the problem."""


class OutputError(InputError):
    """An output cannot be written (no space left, quota, read-only folder, I/O error); the message
    names the file and the problem, and nothing is left under the output's name."""
