"""Logging of a workflow step to its own log file, with user errors and warnings shown on the console too."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from mtsar2sar.errors import InputError

log = logging.getLogger("mtsar2sar")


class _ConsoleWarnings(logging.Filter):
    """The records the console gets besides the log: mtsar2sar's warnings (its errors are printed once,
    below, as ``mtsar2sar: error in rule ...``; other libraries' warnings stay in the log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name == log.name or record.name.startswith(log.name + ".")
        return ours and logging.WARNING <= record.levelno < logging.ERROR


@contextlib.contextmanager
def rule_logging(log_path: str | Path | None, rule: str) -> Iterator[logging.Logger]:
    """Send logging and stderr (progress bars) of a step to ``log_path``.

    Warnings (``log.warning``: the data may not be what the configuration says, dates left out, ...) also
    go to the console, one line each, ``mtsar2sar: warning in rule {rule}: ...``, so they are not only in
    the log. An :class:`InputError` is written to the log and to the console as one clear line, and the
    process exits with status 1 (no traceback: the message names the file or key and the problem).
    """
    console = sys.stderr
    stream = open(log_path, "w", buffering=1) if log_path else None  # noqa: SIM115
    handler = logging.StreamHandler(stream or console)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers[:] = [handler]
    if stream is not None:
        to_console = logging.StreamHandler(console)
        to_console.setFormatter(logging.Formatter(f"mtsar2sar: warning in rule {rule}: %(message)s"))
        to_console.addFilter(_ConsoleWarnings())
        root.handlers.append(to_console)
    root.setLevel(logging.INFO)
    if stream is not None:
        sys.stderr = stream
    try:
        log.info("rule %s started", rule)
        yield log
        log.info("rule %s done", rule)
    except InputError as exc:
        log.error("%s", exc)
        print(f"mtsar2sar: error in rule {rule}: {exc}", file=console)
        raise SystemExit(1) from None
    finally:
        sys.stderr = console
        root.handlers[:], level = saved  # no handler left on the closed log file
        root.setLevel(level)
        if stream is not None:
            stream.close()
