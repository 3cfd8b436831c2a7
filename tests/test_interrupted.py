"""Interrupted runs (a real SIGKILL of Snakemake) resume to bit-identical outputs; runs are deterministic."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from test_workflow import tiny_config

pytestmark = pytest.mark.slow


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


@pytest.mark.parametrize("rule, marker", [("despeckle", "logs/despeckle"), ("super_image", "logs/super_image.log")])
def test_sigkill_then_resume_is_bit_identical(tmp_path, reference, rule, marker):
    config, expected = reference
    work = tmp_path / f"killed_{rule}"
    work.mkdir()
    proc = start(work, config)
    target = work / "results" / "tiny" / marker
    deadline = time.time() + 300
    while not target.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
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
