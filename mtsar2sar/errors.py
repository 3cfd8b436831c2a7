"""Errors raised on bad user input (files, config)."""


class InputError(ValueError):
    """A user-supplied file or setting cannot be used; the message names it and the problem."""
