"""Interrupted runs (a real SIGKILL of Snakemake) resume to bit-identical outputs; runs are deterministic."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from conftest import REPO
from test_workflow import tiny_config

pytestmark = pytest.mark.slow
# The file-size limit of the full-disk test: above the run's small files (JSON reports, logs, Snakemake's
# records and sources), below a date's product (192 x 192 float32: about 140 KB compressed).
FULL_DISK_BYTES = 64_000


def start(workdir: Path, config: dict, *extra: str) -> subprocess.Popen:
    cfg = workdir / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(cfg), "--cores", "1", *extra]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def products(workdir: Path) -> dict[str, str]:
    out = {}
    for p in sorted((workdir / "results").rglob("*")):
        if p.is_file() and p.suffix in (".tif", ".json") and "benchmarks" not in p.parts:
            out[str(p.relative_to(workdir))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_to_end(workdir: Path, config: dict, *extra: str) -> None:
    proc = start(workdir, config, *extra)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out.decode()[-3000:]


@pytest.fixture
def reference(tmp_path, tiny_stack):
    config = tiny_config(tmp_path / "stack")
    ref = tmp_path / "ref"
    ref.mkdir()
    run_to_end(ref, config)
    return config, products(ref)


@pytest.mark.parametrize("rule, marker", [
    ("despeckle", "logs/despeckle"),
    ("super_image", "logs/super_image.log"),
    ("despeckle_batch", ".despeckle_batches/*/*.tif"),  # inside the batch: its first date written, not its last
])
def test_sigkill_then_resume_is_bit_identical(tmp_path, reference, rule, marker):
    config, expected = reference
    work = tmp_path / f"killed_{rule}"
    work.mkdir()
    proc = start(work, config)
    folder = work / "results" / "tiny"
    deadline = time.time() + 300
    while not any(folder.glob(marker)) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before the rule started"
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and the job it runs
    proc.wait()
    proc.stdout.close()
    assert not (work / "results" / "tiny" / "despeckled.done").exists()
    # the documented recovery: release the lock the killed run left, then rerun the incomplete jobs
    run_to_end(work, config, "--unlock")
    run_to_end(work, config, "--rerun-incomplete")
    got = products(work)
    assert got.keys() == expected.keys()
    assert got == expected
    assert not list((work / "results").rglob("*.part*")), "temporary files left behind"


def test_two_runs_are_bit_identical(tmp_path, reference):
    config, expected = reference
    again = tmp_path / "again"
    again.mkdir()
    run_to_end(again, config)
    assert products(again) == expected
    assert len([k for k in expected if "/despeckled/" in k]) == 5


def file_size_limit(limit: int):
    """A preexec_fn: files of the process tree can grow to ``limit`` bytes (a full disk, as GDAL sees it:
    the write that would pass the limit fails with EFBIG; Python ignores SIGXFSZ)."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_full_disk_fails_the_run_keeps_nothing_and_a_rerun_redoes_the_work(tmp_path):
    """Issue 15, class 1, through Snakemake: formerly the despeckle job exited 0 with truncated products and its
    done-marker, and a rerun with space had nothing to do. The super-image is made with space; the
    despeckling then runs with files limited below the size of a date's product."""
    config = {"aois": {"big": {"simulate": {"seed": 5, "height": 192, "width": 192, "dates": 3}, "looks": 1}},
              "network": {"tile": 128, "overlap": 64, "device": "cpu", "threads": 1},
              "super_image": {"filter": "none"}, "outputs": {"quicklooks": False}}
    work = tmp_path / "full"
    work.mkdir()
    cfg = work / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", str(cfg), "--cores", "1"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    aoi = work / "results" / "big"
    done = aoi / "despeckled.done"

    def run(*extra: str, limit: int | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*cmd, *extra], check=False, capture_output=True, text=True, env=env, timeout=900,
                              preexec_fn=file_size_limit(limit) if limit else None)

    first = run("results/big/super_image_filtered.tif")  # targets: relative to --directory
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    full = run("results/big/despeckled.done", limit=FULL_DISK_BYTES)
    out = full.stdout + full.stderr
    assert full.returncode != 0, out[-3000:]
    assert "writing failed" in out and "nothing was kept under that name" in out, out[-3000:]
    assert not done.exists()
    assert not list((work / "results").rglob("*.part*")), "temporary files left behind"
    for p in (aoi / "despeckled").glob("*.tif") if (aoi / "despeckled").exists() else []:
        with rasterio.open(p) as ds:  # what was kept is complete
            ds.read()
    again = run("results/big/despeckled.done")  # space again: the work is redone
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert done.exists()
    dates = sorted(p.stem for p in (aoi / "simulated" / "noisy").glob("*.tif"))
    assert sorted(p.stem for p in (aoi / "despeckled").glob("*.tif")) == dates and len(dates) == 3
    for p in (aoi / "despeckled").glob("*.tif"):
        with rasterio.open(p) as ds:
            assert np.isfinite(ds.read(1)).all()
