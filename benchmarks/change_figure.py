"""A figure of a changed area of a finished simulated AOI (with truth): does each date keep its own state?

Two rows of panels over one crop: a date that holds an object the rest of the stack lacks (by default
the date with the largest area of a change that comes and goes, more than 6 dB from the truth's temporal
median and back within 3 dB of it before and after: the flood of the simulated scenes) and a date that lacks it (by default the nearest date where that area
is within 3 dB of the median: where a product borrowing from the temporal mean draws a ghost). Columns:
the noisy date, the chain (ratio + network: the workflow's product ``despeckled/{date}.tif``, and the
ratio to the filtered super-image despeckled by each ``--chain-weights`` given, computed here), RABASAR,
Quegan + SAR2SAR (``mtsar2sar.comparison.run_method``, the schema's settings, as
``benchmarks/compare_methods.py --compute`` runs them) and the truth; dB, one colour scale per row (the
truth crop's 1st-99th percentiles). The crop is centred on the densest part of the object's outline.
Each panel of a date that lacks the object gives its ghost contrast over the whole date
(``mtsar2sar.changes.ghost_contrast``: excess of the log-gradient on the outlines of the objects it
lacks over the floor, dB per pixel; 0 for the truth).

    .venv/bin/python benchmarks/change_figure.py results/demo_4look --out docs/changed_area_demo_4look.png
    .venv/bin/python benchmarks/change_figure.py results/demo_4look --chain-weights sar2sar-ml \\
        --chain-weights sar2sar-grd --out /tmp/chains.png
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import binary_dilation, binary_erosion, uniform_filter

from mtsar2sar.changes import DB, ghost_contrast
from mtsar2sar.comparison import run_method
from mtsar2sar.config import defaults
from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio
from mtsar2sar.io import read_product
from mtsar2sar.layout import AoiFolder
from mtsar2sar.network import load_network

PEERS = (("rabasar", "RABASAR"), ("quegan_sar2sar", "Quegan + SAR2SAR"))


def changed_dates(logs: np.ndarray, threshold_db: float = 6.0) -> tuple[int, int, np.ndarray]:
    """(date holding an object, nearest date lacking it, the object's mask) from the truth's log stack:
    the date with the largest area of a change that comes and goes (pixels more than ``threshold_db``
    from the temporal median, within 3 dB of it on an earlier and a later date: a flood, not a harvest
    that lasts to the end), and the nearest date where at least 90 % of that area is within 3 dB of the
    median."""
    med = np.median(logs, axis=0)
    away = np.abs(logs - med) > threshold_db / DB
    near = np.abs(logs - med) < 3.0 / DB
    before = np.logical_or.accumulate(near, axis=0)  # within 3 dB on this date or an earlier one
    after = np.logical_or.accumulate(near[::-1], axis=0)[::-1]
    comes_and_goes = away & np.roll(before, 1, axis=0) & np.roll(after, -1, axis=0)
    comes_and_goes[0] = comes_and_goes[-1] = False
    present = int(np.argmax(comes_and_goes.reshape(len(logs), -1).sum(axis=1)))
    obj = comes_and_goes[present]
    if not obj.any():
        raise ValueError(f"no change departs from the temporal median by more than {threshold_db} dB and comes back")
    lacking = [(abs(t - present), t) for t in range(len(logs)) if t != present and np.mean(near[t][obj]) >= 0.9]
    if not lacking:
        raise ValueError("every date holds the changed area: no date lacks it")
    return present, min(lacking)[1], obj


def crop_centre(obj: np.ndarray, size: int) -> tuple[int, int]:
    """(row, col) of the top-left corner of the ``size`` x ``size`` crop holding most of the object's outline."""
    outline = obj & ~binary_erosion(obj) | binary_dilation(obj) & ~obj
    density = uniform_filter(outline.astype(np.float64), size, mode="constant")
    h, w = obj.shape
    half = size // 2
    density[:half, :] = density[h - (size - half) + 1 :, :] = -1
    density[:, :half] = density[:, w - (size - half) + 1 :] = -1
    r, c = np.unravel_index(int(np.argmax(density)), density.shape)
    return int(r) - half, int(c) - half


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("aoi_dir", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="the PNG to write")
    ap.add_argument("--chain-weights", action="append", default=[],
                    help="weights (name or file) of a chain computed here beside the workflow's product (repeat)")
    ap.add_argument("--dates", nargs=2, metavar=("HOLDING", "LACKING"), default=None,
                    help="the two dates (YYYYMMDD; default: found from the truth)")
    ap.add_argument("--crop", type=int, default=96, help="crop size, pixels")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = AoiFolder(args.aoi_dir)
    kept = json.loads(d.coregistration.read_text())["kept_dates"]
    stack = [read_product(d.truth(k))[0].astype(np.float64) for k in kept]
    logs = np.log(np.stack(stack))
    if args.dates:
        missing = [k for k in args.dates if k not in kept]
        if missing:
            raise SystemExit(f"dates {missing} are not among the AOI's kept dates")
        rows = [kept.index(k) for k in args.dates]
        obj = np.abs(logs[rows[0]] - logs[rows[1]]) > 6.0 / DB
    else:
        p, a, obj = changed_dates(logs)
        rows = [p, a]
    r0, c0 = crop_centre(obj, args.crop)
    win = (slice(r0, r0 + args.crop), slice(c0, c0 + args.crop))
    looks = float(json.loads((d.simulated_dir / "simulation.json").read_text())["config"]["looks"])
    s, _ = read_product(d.super_image_filtered)
    nets = {w: NetworkDenoiser(load_network(w, looks=1.0), tile=768, overlap=256) for w in args.chain_weights}
    columns: list[str] = ["noisy", "chain (workflow)", *(f"chain [{w}]" for w in nets), *(lbl for _, lbl in PEERS), "truth"]
    panels: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    with tempfile.TemporaryDirectory() as tmp:
        for t in rows:
            date = kept[t]
            w, _ = read_product(d.noisy(date))
            panels["noisy"].append(w)
            panels["chain (workflow)"].append(read_product(d.despeckled(date))[0])
            for name, den in nets.items():
                panels[f"chain [{name}]"].append(despeckle_by_ratio(w, s, den).despeckled)
            for method, label in PEERS:
                out = Path(tmp) / f"{method}_{date}.tif"
                run_method(method, d.noisy(date), "intensity", None, looks, d.super_image, d.super_image_filtered,
                           defaults("mulog"), defaults("network"), out, [d.noisy(k) for k in kept])
                panels[label].append(read_product(out)[0])
            panels["truth"].append(stack[t])
    lacking = rows[1]
    ghosts = {c: ghost_contrast([v[1]], [stack[lacking]], stack) for c, v in panels.items()}
    fig, axes = plt.subplots(2, len(columns), figsize=(2.3 * len(columns) + 0.8, 5.2), squeeze=False,
                             layout="constrained")
    for i, t in enumerate(rows):
        truth_db = 10 * np.log10(stack[t][win])
        vmin, vmax = np.percentile(truth_db, [1, 99])
        im = None
        for j, col in enumerate(columns):
            ax = axes[i, j]
            img = np.asarray(panels[col][i], dtype=np.float64)[win]
            with np.errstate(divide="ignore", invalid="ignore"):
                im = ax.imshow(10 * np.log10(img), cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            title = col if i == 0 else ""
            if i == 1:
                g = ghosts[col].excess
                title = f"ghost {g:+.2f} dB/px" if math.isfinite(g) else "ghost –"
            ax.set_title(title, fontsize=8)
        axes[i, 0].set_ylabel(f"{kept[t]}\n{'holds the change' if i == 0 else 'lacks it'}", fontsize=8)
        fig.colorbar(im, ax=axes[i, :].tolist(), shrink=0.8, label="dB")
    fig.suptitle(f"{d.root.name}: rows {r0}-{r0 + args.crop}, cols {c0}-{c0 + args.crop}", fontsize=9)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"{args.out}: dates {kept[rows[0]]} (holds the change), {kept[rows[1]]} (lacks it); crop rows {r0}-{r0 + args.crop},"
          f" cols {c0}-{c0 + args.crop}")
    for c, g in ghosts.items():
        print(f"  {c:<24} ghost contrast on {kept[lacking]}: {g}  (contrast {g.contrast:.3f}, floor {g.floor:.3f},"
              f" {g.pixels} outline px)")


if __name__ == "__main__":
    main()
