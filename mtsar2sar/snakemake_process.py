"""Snakemake as the child process of ``mtsar2sar run``: its output copied line by line as it comes, the
project's one-line errors of a failed job repeated as the last lines (with the job's log), and Ctrl-C
handled as Snakemake handles it alone: it stops its jobs and releases its lock, then one line and the
status 130, without a traceback."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TextIO

# After Ctrl-C, how long Snakemake may take to stop its jobs, remove their incomplete outputs and release its
# lock before it is terminated (a second Ctrl-C terminates it at once).
INTERRUPT_WAIT_S = 60.0
INTERRUPTED = 130  # the exit status of a command stopped by Ctrl-C (128 + SIGINT)
_ERROR = re.compile(r"mtsar2sar: error(?: in rule (\w+))?")
_FAILED_RULE = re.compile(r"Error in rule (\w+):")
_RULE_LOG = re.compile(r"\s+log: (.+?) \(check log file\(s\) for error details\)")


class Tee(threading.Thread):
    """Copies a pipe of Snakemake's output to ``sink`` line by line as it comes, and keeps the project's
    one-line errors (``mtsar2sar: error ...``, with their indented continuation lines) and the logs of the
    failed jobs (Snakemake's ``Error in rule R:`` block, its ``log:`` line) to be repeated at the end. Once
    ``interrupted`` is set (Ctrl-C) nothing more is copied: the stop of the jobs is reported in one line. A
    traceback that ends in ``KeyboardInterrupt`` (a job stopped by Ctrl-C) is never copied."""

    def __init__(self, source: IO[bytes], sink: TextIO, interrupted: threading.Event) -> None:
        super().__init__(daemon=True)
        self.source, self.sink, self.interrupted = source, sink, interrupted
        self.errors: list[list[str]] = []  # each error's lines
        self.logs: dict[str, list[str]] = {}  # rule -> the logs of its failed jobs, in order
        self.error_last = False  # whether the last line copied ends one of self.errors

    def run(self) -> None:
        held: list[bytes] = []  # a traceback, until its last line says which exception it is
        in_error, rule = False, None
        for raw in iter(self.source.readline, b""):
            line = raw.decode(errors="replace").rstrip("\r\n")
            indented = line[:1].isspace()
            if held:
                held.append(raw)
                if line and not indented:  # the traceback's exception
                    if not line.startswith("KeyboardInterrupt"):
                        self.write(b"".join(held))
                    held = []
                continue
            if line.startswith("Traceback (most recent call last):"):
                held = [raw]
                continue
            if in_error and indented:
                self.errors[-1].append(line)
            else:
                in_error = _ERROR.match(line) is not None
                if in_error:
                    self.errors.append([line])
            if not indented:
                m = _FAILED_RULE.match(line)
                rule = m.group(1) if m else None
            elif rule is not None and (m := _RULE_LOG.fullmatch(line)):
                self.logs.setdefault(rule, []).append(m.group(1))
            self.error_last = in_error
            self.write(raw)
        if held:
            self.write(b"".join(held))

    def write(self, data: bytes) -> None:
        if self.interrupted.is_set():
            return
        if hasattr(self.sink, "buffer"):
            self.sink.buffer.write(data)
        else:
            self.sink.write(data.decode(errors="replace"))
        self.sink.flush()

    def summary(self) -> list[str]:
        """The errors, each rule's with the log of its job (where Snakemake named it)."""
        out, logs = [], {rule: list(paths) for rule, paths in self.logs.items()}
        for lines in self.errors:
            m = _ERROR.match(lines[0])
            rule = m.group(1) if m else None
            paths = logs.get(rule, []) if rule else []
            log = paths.pop(0) if paths else None
            out += [lines[0] + (f" (log: {log})" if log else ""), *lines[1:]]
        return out


def run_snakemake(cmd: Sequence[str], directory: Path) -> int:
    """Run Snakemake (``cmd``), its output copied as it comes (:class:`Tee`); when it fails, the project's
    errors again as the last lines. Ctrl-C (which Snakemake and its jobs get too, from the terminal): wait
    for Snakemake to stop its jobs and release its lock (:data:`INTERRUPT_WAIT_S` at most, then it is
    terminated), one line, and the status 130."""
    interrupted = threading.Event()
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # Snakemake's lines as they come
    assert proc.stdout is not None and proc.stderr is not None
    out, err = Tee(proc.stdout, sys.stdout, interrupted), Tee(proc.stderr, sys.stderr, interrupted)

    def on_interrupt(signum: int, frame: object) -> None:
        if interrupted.is_set():  # a second Ctrl-C: stop now
            proc.terminate()
        interrupted.set()

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_interrupt) if in_main else None
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        out.start()
        err.start()
        deadline = math.inf
        while True:
            try:
                rc = proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if interrupted.is_set() and deadline == math.inf:
                    deadline = time.monotonic() + INTERRUPT_WAIT_S
                if time.monotonic() > deadline:  # its cleanup is stuck: terminated, then killed
                    proc.terminate()
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    for tee in (out, err):
        tee.join(timeout=5)  # its jobs' copies of the pipes closed too (a job left running: not waited for)
        if not tee.is_alive():
            tee.source.close()
    if interrupted.is_set():
        locks = directory / ".snakemake" / "locks"
        if locks.is_dir() and any(locks.iterdir()):
            print(f"mtsar2sar: interrupted before Snakemake released its lock on {directory}: run the same command"
                  " with --unlock, then again without it to resume", file=sys.stderr)
        else:
            print("mtsar2sar: interrupted; run the same command again to resume", file=sys.stderr)
        return INTERRUPTED
    if rc != 0 and err.errors and not err.error_last:
        print("\n".join(err.summary()), file=sys.stderr)
    return rc if rc >= 0 else 128 - rc
