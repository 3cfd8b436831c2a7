"""Host memory of the despeckling: keep freed buffers for reuse instead of returning them to the OS.

Each layer of the U-Net on a 768 x 768 tile on a CPU makes an output of up to about 110 MB, and the
step reads and writes bands of rows of tens of MB. glibc's ``malloc`` serves blocks that large by
``mmap`` and gives them back to the OS at ``free``; the next tile or band asks again and the kernel maps
and zeroes every page anew. On one 2048² date that was 6.6–8.0 s of system time for 14–19 s of user time
(2 cores; ``benchmarks/speed.py --processes``). :func:`keep_freed_blocks` asks glibc (``mallopt``) to
serve blocks up to 1 GiB from its heap and never to trim it, so the next tile reuses the same pages:
the system time falls to about 1 s and the peak RSS grows by the freed blocks kept (about 0.3–0.4 GB on
that date). :class:`mtsar2sar.despeckle.NetworkDenoiser` calls it, on any device (on a GPU the host's
reading and writing gain). Process-wide and idempotent; a no-op where the C library is not glibc.
``MTSAR2SAR_HOST_MEMORY=release`` keeps the C library's defaults (measurements, or a memory-tight machine).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from mtsar2sar.errors import InputError
from mtsar2sar.logs import log

ENV = "MTSAR2SAR_HOST_MEMORY"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 1 << 30  # blocks from 1 GiB up are still mapped (and given back) one by one
NEVER_TRIM = 2**31 - 1

_applied: bool | None = None


def keep_freed_blocks() -> bool:
    """Make glibc keep freed blocks for reuse (see the module doc); True if it is (now or already) so."""
    global _applied
    if _applied is not None:
        return _applied
    mode = os.environ.get(ENV, "keep")
    if mode not in ("keep", "release"):
        raise InputError(f"{ENV}={mode!r}: expected 'keep' (default) or 'release'")
    _applied = mode == "keep" and _mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and _mallopt(M_TRIM_THRESHOLD, NEVER_TRIM)
    if _applied:
        log.debug("host memory: freed blocks kept for reuse (mallopt)")
    return _applied


def _mallopt(param: int, value: int) -> bool:
    name = ctypes.util.find_library("c")
    if name is None or "libc.so" not in name:  # glibc only: other C libraries have no such options
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(param, value))
