"""Logging of a workflow step to its own log file, with user errors shown on the console too."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from mtsar2sar.errors import InputError

log = logging.getLogger("mtsar2sar")


@contextlib.contextmanager
def rule_logging(log_path: str | Path | None, rule: str) -> Iterator[logging.Logger]:
    """Send logging and stderr (progress bars) of a step to ``log_path``.

    An :class:`InputError` is written to the log and to the console as one clear line, and the
    process exits with status 1 (no traceback: the message names the file or key and the problem).
    """
    console = sys.stderr
    stream = open(log_path, "w", buffering=1) if log_path else None  # noqa: SIM115
    handler = logging.StreamHandler(stream or console)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
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
        if stream is not None:
            stream.close()
