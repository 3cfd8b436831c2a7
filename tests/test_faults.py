"""Faults while writing (issue 15, class 1): a full disk or a GDAL write error fails the step with a
message naming the output, and leaves nothing under the final name (nor a temporary file).

Two kinds of injection: a real GDAL write failure (a child process whose file-size limit is too small:
GDAL then only *signals* the error and returns, exactly as on a full disk), and ENOSPC raised from the
raster and JSON writes of the workflow steps (``monkeypatch``)."""

from __future__ import annotations

import errno
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import rasterio.io
from conftest import REPO, utm_grid, write_dates

from mtsar2sar import io as mio
from mtsar2sar import steps, streaming
from mtsar2sar.despeckle import NetworkDenoiser
from mtsar2sar.errors import OutputError
from mtsar2sar.network import SAR2SARUNet

CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from conftest import utm_grid
    from mtsar2sar.io import open_writer
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    try:
        with open_writer(sys.argv[1], utm_grid(1024, 1024), "test") as w:
            for r in range(0, 1024, 16):
                w.write(np.random.default_rng(r).gamma(1, 1, (16, 1024)), r)
    except Exception as exc:
        print("ERROR", type(exc).__name__, exc)
    else:
        print("NO ERROR")
    """
)


@pytest.mark.parametrize("limit", [20_000, 2_000_000, 3_500_000])  # fails at the first strip, mid-file, at the last flush
def test_gdal_write_failure_fails_and_leaves_nothing(tmp_path, limit):
    out = tmp_path / "results" / "despeckled" / "20240101.tif"
    code = CHILD.format(tests=str(REPO / "tests"), limit=limit)
    res = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=120,
                         cwd=REPO, check=False)
    assert res.stdout.startswith("ERROR OutputError"), res.stdout + res.stderr[-2000:]
    assert f"{out}: writing failed (" in res.stdout and "nothing was kept under that name" in res.stdout
    assert list(out.parent.iterdir()) == []


@pytest.fixture
def small_stack(tmp_path):
    rng = np.random.default_rng(5)
    truth = np.exp(rng.normal(0, 0.5, (96, 64)))
    imgs = {f"2024010{i}": (truth * rng.gamma(1, 1, truth.shape)).astype(np.float32) for i in range(1, 4)}
    (tmp_path / "in").mkdir()
    return write_dates(tmp_path / "in", imgs, utm_grid(96, 64))


def enospc_on_call(monkeypatch, n: int) -> None:
    """The ``n``-th raster write of the process raises ENOSPC (as a full disk does in ``write``)."""
    real = rasterio.io.DatasetWriter.write
    calls = {"n": 0}

    def write(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(rasterio.io.DatasetWriter, "write", write)


def silent_enospc_on_call(monkeypatch, n: int) -> None:
    """The ``n``-th raster write only *signals* ENOSPC and returns, as GDAL does when a flush fails."""
    real = rasterio.io.DatasetWriter.write
    calls = {"n": 0}

    def write(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            logging.getLogger("rasterio._env").info(
                "GDAL signalled an error: err_no=3, msg='_tiffWriteProc: No space left on device'")
            return None
        return real(self, *args, **kwargs)

    monkeypatch.setattr(rasterio.io.DatasetWriter, "write", write)


def report(path: Path, dates: list[str]) -> Path:
    path.write_text(json.dumps({"kept_dates": dates, "mean_dates": dates}))
    return path


@pytest.mark.parametrize("fault", ["image-enospc", "image-silent", "json-enospc"])
def test_enospc_in_super_image_step_leaves_nothing(tmp_path, small_stack, monkeypatch, fault):
    out = tmp_path / "results"
    out.mkdir()
    rep = report(tmp_path / "coregistration.json", list(small_stack))
    if fault == "image-enospc":
        enospc_on_call(monkeypatch, 1)
    elif fault == "image-silent":
        silent_enospc_on_call(monkeypatch, 1)
    else:
        real = Path.write_text

        def write_text(self, *a, **k):
            if self.name.startswith(".super_image_enl.json."):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(self, *a, **k)

        monkeypatch.setattr(Path, "write_text", write_text)
    name = "super_image_enl.json" if fault == "json-enospc" else "super_image.tif"
    with pytest.raises(OutputError, match=rf"{name}: writing failed \(.*No space left on device.*\); nothing was kept"):
        steps.super_image(small_stack, rep, "intensity", None, 1.0, {"enl": 3.0}, out / "super_image.tif",
                             out / "super_image_enl.json")
    assert list(out.iterdir()) == []  # neither product, nor a temporary file


@pytest.mark.parametrize("call", [1, 2, 4])  # the scratch ratio (first writes) or the product (last)
def test_enospc_in_despeckle_step_leaves_nothing(tmp_path, small_stack, monkeypatch, call):
    monkeypatch.setattr(streaming, "strip_rows", lambda width, *a, **k: 32)
    mean = tmp_path / "mean.tif"
    streaming.temporal_mean_file(list(small_stack.values()), "intensity", None, mean)
    out = tmp_path / "results" / "despeckled"
    out.mkdir(parents=True)
    enospc_on_call(monkeypatch, call)
    den = NetworkDenoiser(SAR2SARUNet().eval(), tile=64, overlap=32)
    with pytest.raises(OutputError, match=r"20240102\.tif(\.scratch-ratio\.tif)?: writing failed \(No space left on device\)"):
        streaming.despeckle_file(small_stack["20240102"], "intensity", None, mean, den, out / "20240102.tif")
    assert list(out.iterdir()) == []


def test_truncated_after_writing_is_refused(tmp_path, monkeypatch):
    """A file that reads back truncated (a write lost without any error) is not renamed."""
    real = mio.verify_written

    def truncate_then_verify(path):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
        real(path)

    monkeypatch.setattr(mio, "verify_written", truncate_then_verify)
    with pytest.raises(OutputError, match=r"out\.tif: writing failed, .*not readable after writing"):
        mio.write_float32(tmp_path / "out.tif", np.random.default_rng(0).gamma(1, 1, (600, 600)), utm_grid(600, 600))
    assert list(tmp_path.iterdir()) == []


def test_json_is_strict(tmp_path):
    mio.write_json(tmp_path / "r.json", {"a": float("nan"), "b": [1.0, float("inf"), np.float32("nan")], "c": np.int64(3)})
    text = (tmp_path / "r.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [1.0, None, None], "c": 3}


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".pt"])
def test_truncated_image_or_weights_after_writing_are_refused(tmp_path, monkeypatch, suffix):
    """Quicklooks (JPEG), figures (PNG) and trained weights (.pt) are checked as GeoTIFFs are: a file that
    reads back truncated is not renamed (formerly only its size was checked)."""
    import torch
    from PIL import Image

    real = mio.verify_written

    def truncate_then_verify(path):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        real(path)

    def write(tmp: Path) -> None:
        if suffix == ".pt":
            torch.save({"w": torch.arange(50000, dtype=torch.float32)}, tmp)
        else:
            noise = np.random.default_rng(0).integers(0, 255, (300, 300), dtype=np.uint8)
            Image.fromarray(noise).save(tmp, format="JPEG" if suffix == ".jpg" else "PNG")

    with mio.atomic_path(tmp_path / f"ok{suffix}") as tmp:  # an intact file passes the same check
        write(tmp)
    monkeypatch.setattr(mio, "verify_written", truncate_then_verify)
    with (pytest.raises(OutputError, match=rf"out\{suffix}: writing failed, .*(not readable after writing|corrupt)"),
          mio.atomic_path(tmp_path / f"out{suffix}") as tmp):
        write(tmp)
    assert [p.name for p in tmp_path.iterdir()] == [f"ok{suffix}"]
