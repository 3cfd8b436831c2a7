"""The workflow on a real SLURM cluster: a tiny AOI through `snakemake --profile profiles/slurm`.

Needs a running cluster (envs/slurm/start_local_cluster.sh starts a single-node one on this machine)
and MTSAR2SAR_SLURM=1; .ci/run does both. Run alone with:

    bash envs/slurm/start_local_cluster.sh
    MTSAR2SAR_SLURM=1 .venv/bin/python -m pytest -q -m slurm tests/test_slurm.py -s

MTSAR2SAR_SLURM_LOG=path keeps the Snakemake log of the run there (.ci/run prints it).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(os.environ.get("MTSAR2SAR_SLURM") != "1",
                       reason="SLURM test: set MTSAR2SAR_SLURM=1 (and start envs/slurm/start_local_cluster.sh)"),
]

TIMEOUT_S = 900
JOBID = re.compile(r"has been submitted with SLURM jobid (\d+)")


def cluster_state() -> str:
    """Why the cluster can't be used ('' if it can)."""
    if shutil.which("sinfo") is None:
        return "sinfo not on PATH: no SLURM client (run envs/slurm/start_local_cluster.sh)"
    try:
        res = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer in 20 s: slurmctld not reachable"
    states = res.stdout.split()
    if res.returncode != 0 or not {"idle", "mixed"} & set(states):
        return f"SLURM cluster not idle (sinfo rc={res.returncode}, states={states}, {res.stderr.strip()[:200]})"
    return ""


def slurm_config(stack_dir: Path) -> dict:
    return {
        "aois": {"tiny": {"inputs": str(stack_dir / "*.tif"), "date_regex": r"_(\d{8})", "looks": 1}},
        # explicit weights: the test must not depend on the single-look weights file ("auto" for looks 1)
        # one date per job (what `dates_per_job: auto` gives large scenes): the dates spread over the cluster
        "network": {"weights": "sar2sar-grd", "tile": 128, "overlap": 64, "batch": 2, "device": "cpu",
                    "threads": 1, "dates_per_job": 1},
        "outputs": {"quicklooks": False},  # fewer SLURM jobs (each costs ~10 s of scheduling)
    }


def tail(text: str, n: int = 60) -> str:
    return "\n".join(text.splitlines()[-n:])


def test_tiny_aoi_on_slurm(tmp_path, tiny_stack):
    why = cluster_state()
    if why:
        pytest.skip(why)
    files, _, _ = tiny_stack
    work = tmp_path / "work"
    work.mkdir()
    cfg = work / "config.yaml"
    cfg.write_text(yaml.safe_dump(slurm_config(tmp_path / "stack")))
    log_path = Path(os.environ.get("MTSAR2SAR_SLURM_LOG") or tmp_path / "snakemake-slurm.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", str(cfg), "--profile", str(REPO / "profiles" / "slurm"),
           "--slurm-keep-successful-logs"]
    # the jobs run `python -m snakemake` on the node: same interpreter and package as here
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    start = time.monotonic()
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        # own session: on a timeout the whole tree is killed (the plugin may ignore SIGTERM)
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
    elapsed = time.monotonic() - start
    text = log_path.read_text()
    job_ids = JOBID.findall(text)
    if rc is None:
        if job_ids:
            subprocess.run(["scancel", *job_ids], capture_output=True, timeout=30, check=False)
        pytest.fail(f"snakemake on SLURM still running after {TIMEOUT_S} s; log tail:\n{tail(text)}")
    print(f"\nsnakemake --profile profiles/slurm: rc={rc} in {elapsed:.0f} s, "
          f"{len(job_ids)} SLURM jobs ({', '.join(job_ids)}); log: {log_path}")
    assert rc == 0, f"snakemake on SLURM failed (rc={rc}); log tail:\n{tail(text)}"

    out = work / "results" / "tiny"
    for d in files:
        assert (out / "despeckled" / f"{d}.tif").stat().st_size > 0, f"missing despeckled/{d}.tif\n{tail(text)}"
    assert (out / "despeckled.done").exists()
    # the jobs went through SLURM: submissions logged, one SLURM log per job kept
    assert len(job_ids) >= 3 + len(files), f"too few SLURM submissions ({job_ids}); log tail:\n{tail(text)}"
    slurm_logs = sorted((work / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.stem for p in slurm_logs} >= set(job_ids), (
        f"SLURM job logs {[str(p.relative_to(work)) for p in slurm_logs]} vs jobs {job_ids}\n{tail(text)}")
    assert any(p.parent.name == "rule_despeckle" or "rule_despeckle" in p.parts for p in slurm_logs)
