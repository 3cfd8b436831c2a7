"""An experiment's harness (not in the product): variants of a training config's model trained side by side
on another machine (a GPU) from packed arrays, with the data and the code of the workflow's `train` rule
(`training_stacks`, `training.train`) but without Snakemake or the AOIs' raster files there. It made the
GPU runs of the model card (mtsar2sar/weights/README.md, "Ten times more training"): not shipped.

    # here, once the AOIs' super-images exist (e.g. after a CPU run of the model's training rule):
    .venv/bin/python experiments/device_training.py pack examples/train_multilook.yaml sar2sar-ml --out packed
    # there (torch, numpy, scipy, scikit-image, rasterio and this repository; benchmarks/gpu.sh train):
    python experiments/device_training.py train packed --variant "x10:device=cuda;steps=8000" --out runs

`pack` writes, per AOI, the kept dates as read by the rule (float32) and its filtered super-image; a
simulated AOI is packed as its simulation settings and the checksum of its dates, and regenerated there
(the generator is deterministic; the checksum is verified). `train` runs each `--variant NAME:KEY=VALUE;...`
(YAML values over the model's settings) in a process of its own and writes `NAME.pt`, its `training.json`
and loss plot under `--out`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mtsar2sar.config import AoiSpec
from mtsar2sar.io import read_intensity, read_product
from mtsar2sar.layout import AoiFolder
from mtsar2sar.plan import kept_dates
from mtsar2sar.simulate import SimulationConfig, simulate_stack
from mtsar2sar.training.inputs import TrainingArrays, train_model_settings, training_stacks


def checksum(dates: list[np.ndarray]) -> float:
    return float(sum(np.nansum(np.asarray(d, dtype=np.float64)) for d in dates))


def pack(config: Path, model: str, out: Path, results: Path) -> None:
    cfg = yaml.safe_load(config.read_text())
    settings = cfg["training"]["models"][model]
    out.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {"model": model, "settings": settings, "aois": []}
    for name in settings["aois"]:
        spec = AoiSpec.from_config(name, cfg["aois"][name])
        folder = AoiFolder.of(name, results)
        dates = kept_dates(folder.coregistration)
        files = spec.date_files(results)
        imgs = [read_intensity(files[d], spec.read_domain(), spec.band)[0].astype(np.float32) for d in dates]
        s, _ = read_product(folder.super_image_filtered)
        entry: dict[str, Any] = {"name": name, "looks": spec.looks, "dates": dates, "checksum": checksum(imgs)}
        arrays = {"super_image": np.asarray(s, dtype=np.float32)}
        if spec.simulate is not None:
            entry["simulate"] = {k: v for k, v in vars(spec.simulate).items()}
        else:
            arrays["dates"] = np.stack(imgs)
        np.savez_compressed(out / f"{name}.npz", **arrays)
        index["aois"].append(entry)
        print(f"packed {name}: {len(dates)} dates{' (simulated: regenerated there)' if spec.simulate else ''}")
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")


def unpack(packed: Path) -> tuple[dict[str, Any], list[TrainingArrays]]:
    index = json.loads((packed / "index.json").read_text())
    arrays = []
    for e in index["aois"]:
        z = np.load(packed / f"{e['name']}.npz")
        if "simulate" in e:
            sim = SimulationConfig.from_dict(e["simulate"])
            keys, _, noisy, _ = simulate_stack(sim)
            dates = [noisy[keys.index(d)].astype(np.float32) for d in e["dates"]]
            got = checksum(dates)
            if not np.isclose(got, e["checksum"], rtol=1e-9):
                raise SystemExit(f"{e['name']}: the regenerated dates differ from the packed ones "
                                 f"(checksum {got} != {e['checksum']})")
        else:
            dates = list(z["dates"])
        arrays.append(TrainingArrays(e["name"], [d.astype(np.float64) for d in dates],
                                     z["super_image"].astype(np.float64), float(e["looks"])))
    return index, arrays


def prepared(arrays: list[TrainingArrays], cfg: Any, workers: int) -> list[Any]:
    """``workflow.training_stacks`` of every AOI, ``workers`` AOIs at a time (forked processes)."""
    if workers <= 1:
        return training_stacks(arrays, cfg)[0]
    import multiprocessing as mp

    with mp.get_context("fork").Pool(workers) as pool:
        parts = pool.starmap(training_stacks, [([a], cfg) for a in arrays])
    return [st for stacks, _ in parts for st in stacks]


def run_variant(name: str, stacks: list[Any], base_settings: dict[str, Any], over: dict[str, Any], out: Path,
                budget_s: float | None) -> None:
    """One training run; with ``budget_s``, its steps (and milestones, in proportion) cut to fit the budget
    at the sampler's measured pace (the network on a GPU costs little beside it)."""
    import time
    from dataclasses import replace

    from mtsar2sar.training import PatchSampler, train

    cfg = train_model_settings({**base_settings, **{k: v for k, v in over.items() if k != "aois"}})
    if "aois" in over:
        stacks = [st for st in stacks if st.name.split(":")[0] in over["aois"]]
    if budget_s:
        probe = PatchSampler(stacks, cfg, np.random.default_rng(12345))
        t0 = time.perf_counter()
        for _ in range(10):
            probe.sample()
        pace = (time.perf_counter() - t0) / 10 * 1.15 + 0.004
        steps = min(cfg.steps, int(budget_s / pace) // 100 * 100)
        if steps < cfg.steps:
            scale = steps / cfg.steps
            cfg = replace(cfg, steps=steps, lr_milestones=tuple(int(m * scale) for m in cfg.lr_milestones),
                          validate_every=max(1, int(cfg.validate_every * scale)))
            print(f"{name}: {pace * 1e3:.0f} ms per step expected: {steps} steps to fit {budget_s:.0f} s", flush=True)
    model = out / f"{name}.pt"
    summary = train(stacks, cfg, model, out / name)
    print(f"{name} ({over}): {summary['seconds']:.0f} s, {cfg.steps} steps, validation NLL "
          f"{summary['initial_validation_nll']:.5f} -> {summary['final_validation_nll']:.5f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("config", type=Path)
    p.add_argument("model")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--results", type=Path, default=Path("results"))
    t = sub.add_parser("train")
    t.add_argument("packed", type=Path)
    t.add_argument("--variant", action="append", required=True, metavar="NAME:KEY=VALUE;KEY=VALUE",
                   help="a run: its name and settings over the model's (YAML values); several run at once")
    t.add_argument("--workers", type=int, default=1, help="AOIs prepared at once")
    t.add_argument("--budget", type=float, default=None, help="seconds per run: steps cut to fit")
    t.add_argument("--out", type=Path, required=True, help="folder of the weights and training summaries")
    args = ap.parse_args()
    if args.command == "pack":
        pack(args.config, args.model, args.out, args.results)
        return
    import logging
    import multiprocessing as mp
    import time

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(message)s")
    t0 = time.perf_counter()
    index, arrays = unpack(args.packed)
    base = {k: v for k, v in index["settings"].items() if k != "aois"}
    stacks = prepared(arrays, train_model_settings(base), args.workers)
    print(f"{len(stacks)} stacks prepared in {time.perf_counter() - t0:.0f} s", flush=True)
    runs = []
    for v in args.variant:
        name, _, spec = v.partition(":")
        over = {k: yaml.safe_load(x) for k, x in (item.split("=", 1) for item in spec.split(";") if item)}
        proc = mp.get_context("fork").Process(target=run_variant, args=(name, stacks, base, over, args.out, args.budget))
        proc.start()
        runs.append((name, proc))
    for name, proc in runs:
        proc.join()
        if proc.exitcode:
            print(f"{name}: failed (exit {proc.exitcode})", flush=True)


if __name__ == "__main__":
    main()
