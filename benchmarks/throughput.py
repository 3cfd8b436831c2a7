"""Whole-workflow wall time on real stacks, settings side by side in one run.

Runs ``snakemake`` on the OPERA stacks of ``data/opera_rtc_s1_10SGD`` (one AOI per stack, as
``examples/opera_10SGD_vv.yaml``), once per ``--dates-per-job`` value, each in a fresh working folder,
one after the other in the same invocation (A/B on the same machine load), and prints per setting: the
whole-run wall time, the despeckling jobs and their summed seconds (Snakemake benchmark files), the
in-process time per date (from the per-date logs) and the amortized per-date overhead (job seconds per
date less the in-process time). The despeckled products of the settings are compared byte for byte.

With ``--add-date`` it also measures monitoring (``super_image.reference_dates``): the stacks less their
last date are run, then the last date is added and the run repeated; the second run's wall time and its
jobs are printed (one despeckle job per AOI expected), against the per-date time of the first.

    .venv/bin/python benchmarks/throughput.py                                # 10 stacks, dates_per_job 1 vs auto
    .venv/bin/python benchmarks/throughput.py --stacks 2 --add-date          # short
    .venv/bin/python benchmarks/throughput.py --pairs --dates-per-job auto   # the 10 stacks whole and left out
    .venv/bin/python benchmarks/throughput.py --pairs --dates-per-job auto --precision float32 auto
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "opera_rtc_s1_10SGD"


def stacks(data: Path, n: int | None) -> dict[str, list[Path]]:
    out = {}
    for pol in sorted(data.glob("*/V?")):
        name = re.sub(r"[^a-z0-9]+", "_", f"{pol.parent.name}_{pol.name}".lower())
        out[name] = sorted(pol.glob("*.tif"))
    return dict(list(out.items())[:n]) if n else out


def config(inputs: dict[str, str], dates_per_job: str, quicklooks: bool, reference: int | None,
           precision: str = "auto") -> dict:
    network = {"dates_per_job": dates_per_job, "precision": precision}  # the defaults otherwise
    cfg = {
        "aois": {name: {"inputs": glob, "date_regex": r"_(\d{8})_S1", "input_domain": "intensity", "looks": 5}
                 for name, glob in inputs.items()},
        "network": {k: (int(v) if k == "dates_per_job" and v != "auto" else v) for k, v in network.items()},
        "outputs": {"quicklooks": quicklooks},
    }
    if reference:
        cfg["super_image"] = {"reference_dates": reference}
    return cfg


SNAKEMAKE_ARGS: list[str] = []  # --snakemake-args


def snakemake(work: Path, cfg: dict, cores: int) -> tuple[float, str]:
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", str(work / "config.yaml"), "--cores", str(cores), *SNAKEMAKE_ARGS]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), check=False)
    wall = time.perf_counter() - t0
    if res.returncode:
        sys.exit(f"snakemake failed in {work}:\n{res.stderr[-3000:]}")
    return wall, res.stderr


def jobs(stderr: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in re.finditer(r"^(?:local)?(?:rule|checkpoint) (\w+):$", stderr, re.MULTILINE):
        out[m.group(1)] = out.get(m.group(1), 0) + 1
    return out


def bench_seconds(results: Path, rule: str) -> float:
    total = 0.0
    for tsv in results.glob(f"*/benchmarks/{rule}/*.tsv"):
        with tsv.open() as f:
            total += float(next(csv.DictReader(f, delimiter="\t"))["s"])
    return total


def despeckling_job_seconds(results: Path) -> float:
    """Seconds of every despeckling job so far (one date each, or batches), from Snakemake's benchmark files."""
    return bench_seconds(results, "despeckle") + bench_seconds(results, "despeckle_batch")


def in_process_seconds(results: Path) -> list[float]:
    """Per date: the in-process despeckling time (``despeckled ... in X s`` of the per-date logs)."""
    out = []
    for log in results.glob("*/logs/despeckle/*.log"):
        m = re.search(r"Mpx in ([\d.]+) s", log.read_text())
        if m:
            out.append(float(m.group(1)))
    return out


def digests(results: Path) -> dict[str, str]:
    return {str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(results.glob("*/despeckled/*.tif"))}


def report(label: str, work: Path, wall: float, stderr: str) -> dict:
    results = work / "results"
    n = len(list(results.glob("*/despeckled/*.tif")))
    j = jobs(stderr)
    job_s = despeckling_job_seconds(results)
    inproc = in_process_seconds(results)
    work_per_date = sum(inproc) / max(len(inproc), 1)
    print(f"{label}: wall {wall:.1f} s for {n} dates ({wall / max(n, 1):.2f} s per date); jobs "
          + ", ".join(f"{k} {v}" for k, v in sorted(j.items())))
    print(f"    despeckling job seconds {job_s:.1f} ({job_s / max(n, 1):.2f} s per date); in-process despeckling "
          f"{work_per_date:.3f} s per date; amortized per-date overhead {job_s / max(n, 1) - work_per_date:.2f} s")
    return {"wall": wall, "dates": n, "jobs": j, "job_s": job_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--stacks", type=int, default=None, help="the first N stacks (default: all)")
    ap.add_argument("--dates-per-job", nargs="+", default=["1", "auto"])
    ap.add_argument("--quicklooks", action="store_true", help="also the quicklooks (per-date jobs)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--add-date", action="store_true", help="also the monitoring measurement")
    ap.add_argument("--keep", action="store_true", help="keep the working folders")
    ap.add_argument("--pairs", action="store_true",
                    help="each stack twice, whole and less its last date (the real-data scoring's pair of runs)")
    ap.add_argument("--precision", nargs="+", default=["auto"],
                    help="network.precision values, each run with every --dates-per-job (default: auto)")
    ap.add_argument("--snakemake-args", default="", help="more Snakemake options, e.g. '--scheduler greedy'")
    args = ap.parse_args()
    SNAKEMAKE_ARGS.extend(args.snakemake_args.split())

    found = stacks(args.data, args.stacks)
    if not found:
        sys.exit(f"no stacks under {args.data}")
    root = Path(tempfile.mkdtemp(prefix="mtsar2sar-throughput."))
    print(f"{len(found)} stacks x {len(next(iter(found.values())))} dates; folders under {root}")
    try:
        inputs = {name: str(files[0].parent / "*.tif") for name, files in found.items()}
        if args.pairs:  # the left-out run: the stack less its last date, as a link folder
            for name, files in found.items():
                d = root / "leftout" / name
                d.mkdir(parents=True)
                for f in files[:-1]:
                    os.symlink(f, d / f.name)
                inputs[f"{name}_leftout"] = str(d / "*.tif")
        out = {}
        for precision in args.precision:
            for setting in args.dates_per_job:
                work = root / f"dates_per_job_{setting}_{precision}"
                work.mkdir()
                wall, stderr = snakemake(work, config(inputs, setting, args.quicklooks, None, precision), args.cores)
                out[setting, precision] = report(f"dates_per_job {setting}, precision {precision}", work, wall, stderr)
                out[setting, precision]["digests"] = digests(work / "results")
        for precision in args.precision:
            group = [o["digests"] for (_, p), o in out.items() if p == precision]
            print(f"precision {precision}: despeckled products identical across dates_per_job: "
                  f"{all(g == group[0] for g in group)} ({len(group[0])} files)")
        if args.add_date:
            # monitoring: the stacks less their last date, then the last date added
            for setting in args.dates_per_job:
                work = root / f"monitoring_{setting}"
                (work / "stacks").mkdir(parents=True)
                mon_inputs = {}
                for name, files in found.items():
                    d = work / "stacks" / name
                    d.mkdir()
                    for f in files[:-1]:
                        os.symlink(f, d / f.name)
                    mon_inputs[name] = str(d / "*.tif")
                cfg = config(mon_inputs, setting, args.quicklooks, len(next(iter(found.values()))) - 1)
                wall1, err1 = snakemake(work, cfg, args.cores)
                first = report(f"monitoring, dates_per_job {setting}, first {wall1:.0f} s run", work, wall1, err1)
                for name, files in found.items():
                    os.symlink(files[-1], work / "stacks" / name / files[-1].name)
                before = despeckling_job_seconds(work / "results")
                wall2, err2 = snakemake(work, cfg, args.cores)
                new_job = (despeckling_job_seconds(work / "results") - before) / len(found)
                j = jobs(err2)
                print(f"    + the last date of each of {len(found)} stacks: wall {wall2:.1f} s "
                      f"({wall2 / len(found):.2f} s per stack; the first run {first['wall'] / first['dates']:.2f} s"
                      " per date); jobs " + ", ".join(f"{k} {v}" for k, v in sorted(j.items())))
                print(f"    the new date's despeckling job: {new_job:.2f} s per stack, against"
                      f" {first['job_s'] / first['dates']:.2f} s per date in the first run's despeckling jobs")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
