"""The network's freed host buffers are kept for reuse, not unmapped and zeroed again (mtsar2sar.hostmemory)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# In a fresh process: make a CPU NetworkDenoiser (which sets the C library's options), then allocate and
# fill a 200 MB array and free it, and print how much the resident memory fell at the free (MB).
CHILD = """
import os, numpy as np
from mtsar2sar.despeckle import NetworkDenoiser
from mtsar2sar.network import SAR2SARUNet
NetworkDenoiser(SAR2SARUNet().eval(), device="cpu")
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
a = np.ones(25_000_000)
before = resident()
del a
print(before - resident())
"""

GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None


def freed_mb(mode: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "MTSAR2SAR_HOST_MEMORY"}
    if mode is not None:
        env["MTSAR2SAR_HOST_MEMORY"] = mode
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="the options are glibc's")
def test_a_cpu_network_keeps_freed_buffers_and_release_restores_the_default() -> None:
    assert freed_mb(None) < 5  # kept for the next tile: no page mapped and zeroed again
    assert freed_mb("release") > 190  # glibc's default: a block that large is unmapped at free


def test_an_unknown_mode_is_an_error_naming_the_variable() -> None:
    env = {**os.environ, "MTSAR2SAR_HOST_MEMORY": "always"}
    out = subprocess.run([sys.executable, "-c", "from mtsar2sar.hostmemory import keep_freed_blocks; keep_freed_blocks()"],
                         check=False, capture_output=True, text=True, env=env)
    assert out.returncode != 0
    assert "MTSAR2SAR_HOST_MEMORY='always': expected 'keep' (default) or 'release'" in out.stderr
