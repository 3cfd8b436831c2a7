"""Speed of the per-date despeckling on one large date, against the machine's compute limit.

Prints: megapixels per second end to end (read -> ratio -> network -> write, the `despeckle` step),
the network's FLOPs per pixel (counted by torch's FlopCounterMode, not guessed), the fp32 matrix-multiply
rate of this machine with the same thread count, the fraction of that limit reached, and the effect of
the tile/overlap setting. Data are generated here and deleted after.

Then the same image (amplitude at the published weights' level) through `deepdespeckling`'s own
SAR2SAR inference (`Sar2SarDenoiser.denoise_image`, its default 256-pixel patches, stride 254), with
the same published weights, against ours on the same network input: the speed-up and how equal the
outputs are (difference in dB: median, 99.9th percentile, max). Its file-format helpers (OpenCV,
GDAL) are not on that path; when they are not installed, the script stands in empty modules for
those two imports, and it loads the weights with `weights_only=True` as we do (its own loader uses
`torch.load` on a full pickle).

    .venv/bin/python benchmarks/speed.py [--size 2048] [--threads 2] [--no-reference]

On a CUDA machine, ``--device cuda`` measures instead: the GPU's fp32 and TF32 matrix-multiply rates, the
network alone on one whole image already on the device (fp32, TF32, bf16 autocast), tiled inference
from host memory for tile sizes and batches (host/device copies and blending included), and the
`despeckle` step end to end (GeoTIFF read and write included) with ``device: cuda``:

    python benchmarks/speed.py --device cuda --size 2048

``--host-work`` times the `despeckle` step with a network that returns its input (the step's reading,
ratio, debiasing and COG writing: what remains of a date when the network runs on a GPU), with its profile.
"""

from __future__ import annotations

import argparse
import copy
import functools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from mtsar2sar.io import write_float32
from mtsar2sar.network import SAR2SARUNet, with_precision
from mtsar2sar.simulate import SimulationConfig
from mtsar2sar.steps import despeckle
from mtsar2sar.tiling import tiled_apply

DEFAULTS = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())["network"]


def matmul_gflops(threads: int, n: int = 2048, repeats: int = 5) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    t0 = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * n**3 * repeats / (time.perf_counter() - t0) / 1e9


def flops_per_pixel(side: int = 256) -> float:
    net = SAR2SARUNet().eval()
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        net(torch.zeros(1, 1, side, side))
    return counter.get_total_flops() / side**2


def reference_denoiser(device: str = "cpu"):
    """deepdespeckling's Sar2SarDenoiser, loading the same weights safely."""
    import importlib.util
    import sys
    import types

    for mod in ("cv2", "osgeo"):
        if importlib.util.find_spec(mod) is None:  # only its image-file helpers use them
            stub = types.ModuleType(mod)
            stub.gdal = types.ModuleType("osgeo.gdal")  # type: ignore[attr-defined]
            sys.modules[mod] = stub
            sys.modules.setdefault("osgeo.gdal", stub.gdal)  # type: ignore[attr-defined]
    from deepdespeckling.model import Model
    from deepdespeckling.sar2sar.sar2sar_denoiser import Sar2SarDenoiser

    from mtsar2sar.network import load_state_dict, published_weights_path

    class SafeSar2SarDenoiser(Sar2SarDenoiser):
        def load_model(self, patch_size: int) -> Model:
            model = Model(torch.device(self.device), height=patch_size, width=patch_size)
            model.load_state_dict(load_state_dict(published_weights_path("sar2sar-grd")))
            return model.eval()

    den = SafeSar2SarDenoiser()
    den.device = device
    return den


THEIRS = """
import sys, numpy as np, rasterio, torch
sys.path.insert(0, {bench!r})
from speed import reference_denoiser
torch.set_num_threads({threads})
with rasterio.open(sys.argv[1]) as ds:
    amp = np.sqrt(ds.read(1).astype(np.float64)).astype(np.float32)
np.save(sys.argv[2], reference_denoiser({device!r}).denoise_image(amp, 256, 254)["denoised"].astype(np.float32))
"""


def process_comparison(n: int, device: str, threads: int, precisions: list[str], tile: int, overlap: int,
                       host_memory: list[str], runs: int = 3) -> None:
    """Whole processes, timed in turn on one n x n date (imports, weights, reading and writing included):
    the `despeckle` step (`mtsar2sar despeckle`, the ratio to a super-image, published GRD weights) and
    `deepdespeckling`'s SAR2SAR inference on the date alone (same weights, its 256-px patches), on ``device``;
    ours once per ``network.precision`` and per ``MTSAR2SAR_HOST_MEMORY`` given (``mtsar2sar.hostmemory``).
    Wall and CPU time (user + system), peak RSS, and ours as a fraction of the fp32 matmul rate on useful
    pixels (the whole process's wall time)."""
    import os
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    grid = SimulationConfig(height=n, width=n).grid()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        s = np.exp(rng.normal(-2.5, 1.0, (n, n))).astype(np.float32)
        write_float32(d / "date.tif", (s * rng.exponential(1.0, (n, n))).astype(np.float32), grid)
        write_float32(d / "super.tif", s, grid)
        ours_cmd = [sys.executable, "-m", "mtsar2sar.cli", "despeckle", str(d / "date.tif"), "--super",
                    str(d / "super.tif"), "-o", str(d / "ours.tif"), "--weights", "sar2sar-grd", "--looks", "4",
                    "--device", device, "--threads", str(threads), "--tile", str(tile), "--overlap", str(overlap)]
        cmds = {
            f"mtsar2sar despeckle {p} {hm}": ([*ours_cmd, "--precision", p], {"MTSAR2SAR_HOST_MEMORY": hm})
            for p in precisions for hm in host_memory
        } | {
            "deepdespeckling Sar2SarDenoiser": ([sys.executable, "-c", THEIRS.format(
                bench=str(Path(__file__).resolve().parent), threads=threads, device=device),
                str(d / "date.tif"), str(d / "theirs.npy")], {}),
        }
        times: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in cmds}
        for _ in range(runs):
            for name, (cmd, env) in cmds.items():
                with open(d / "out.log", "w") as out:
                    t0 = time.perf_counter()
                    child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env})
                    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage (peak RSS included)
                    wall = time.perf_counter() - t0
                    child.returncode = os.waitstatus_to_exitcode(status)
                if child.returncode != 0:
                    raise SystemExit(f"{name} failed:\n{(d / 'out.log').read_text()[-2000:]}")
                times[name].append((wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024))
    fpp, peak = flops_per_pixel(), matmul_gflops(threads) if device == "cpu" else float("nan")
    print(f"whole processes, one {n}x{n} date, device {device}, {threads} threads, {runs} runs each (in turn); "
          f"ours with tile {tile}, overlap {overlap}; fp32 matmul rate {peak:.1f} GFLOP/s:")
    for name, t in times.items():
        walls = sorted(w for w, *_ in t)
        wall = walls[len(walls) // 2]
        frac = n * n * fpp / wall / (peak * 1e9)
        print(f"  {name:<40} wall {wall:.2f} s (median; {min(walls):.2f}-{max(walls):.2f}), "
              f"CPU user {np.median([u for _, u, _, _ in t]):.1f} s + system {np.median([y for _, _, y, _ in t]):.1f} s, "
              f"peak RSS {max(r for *_, r in t):.0f} MB; {frac:.2f} of the matmul rate on useful pixels")
    theirs = float(np.median([w for w, *_ in times["deepdespeckling Sar2SarDenoiser"]]))
    for name in cmds:
        if name.startswith("mtsar2sar"):
            ours = float(np.median([w for w, *_ in times[name]]))
            print(f"  speed-up of {name[len('mtsar2sar '):]} over deepdespeckling's inference (float32): x{theirs / ours:.2f}")


def compare_with_reference(n: int, threads: int, fpp: float, peak: float, tile: int, overlap: int) -> None:
    from mtsar2sar.despeckle import NetworkDenoiser
    from mtsar2sar.network import load_network

    torch.set_num_threads(threads)
    rng = np.random.default_rng(1)
    amp = np.sqrt(np.exp(rng.normal(9.0, 1.0, (n, n))) * rng.exponential(1.0, (n, n))).astype(np.float32)
    ref = reference_denoiser()
    t0 = time.perf_counter()
    theirs = ref.denoise_image(amp, 256, 254)["denoised"]
    t_ref = time.perf_counter() - t0
    ours_den = NetworkDenoiser(load_network("sar2sar-grd"), level=None, tile=tile, overlap=overlap, batch=1)
    t0 = time.perf_counter()
    ours = ours_den(amp.astype(np.float64) ** 2)
    t_ours = time.perf_counter() - t0
    diff = np.abs(10 * np.log10(ours) - 20 * np.log10(np.maximum(theirs, 1e-30)))
    mpx = n * n / 1e6
    theirs_frac = mpx / t_ref * 1e6 * fpp * (256 / 254) ** 2 / (peak * 1e9)  # it computes (256/254)^2 px per px
    print(f"deepdespeckling Sar2SarDenoiser (patch 256, stride 254): {mpx / t_ref:.3f} Mpx/s, i.e. {theirs_frac:.2f} of "
          f"the matmul rate; ours (tile {tile}, overlap {overlap}): {mpx / t_ours:.3f} Mpx/s; speed-up x{t_ref / t_ours:.2f} "
          f"(an implementation computing each pixel once at the full matmul rate would reach x{1 / theirs_frac:.2f})")
    print(f"output difference, dB: median {np.median(diff):.4f}, 99.9th pct {np.quantile(diff, 0.999):.3f}, "
          f"max {diff.max():.3f} (theirs averages 256-px patches with 2-px overlaps: seams)")


def computed_per_output(n: int, tile: int, overlap: int) -> float:
    """Pixels the network computes per output pixel on an n x n image (tiles fitted as in the workflow)."""
    from mtsar2sar.tiling import GRID, fitted_tile, tile_starts

    side = -(-n // GRID) * GRID
    ft = fitted_tile(side, tile, overlap)
    return (len(tile_starts(side, ft, ft - overlap)) * ft / n) ** 2


def tile_sweep(n: int, threads: int, settings: list[tuple[int, int]]) -> None:
    """Tile / overlap against whole-image inference on a simulated single-look date (``n`` x ``n``, the
    shipped single-look weights): compute executed per output pixel, network Mpx/s, and the largest
    difference of the despeckled intensity from the whole-image result (dB), over the whole image."""
    from mtsar2sar.despeckle import denormalize_to_intensity, normalize_log_amplitude
    from mtsar2sar.network import load_network
    from mtsar2sar.simulate import simulate_stack
    from mtsar2sar.tiling import GRID, fitted_tile, whole_apply

    torch.set_num_threads(threads)
    _, _, noisy, _ = simulate_stack(SimulationConfig(seed=7, height=n, width=n, dates=1))
    x = normalize_log_amplitude(noisy[0] / np.exp(np.log(noisy[0]).mean()) * 1e4)
    net = load_network("sar2sar-s1").eval().to(memory_format=torch.channels_last)
    t0 = time.perf_counter()
    whole = whole_apply(net, x)
    t_whole = time.perf_counter() - t0
    ref_db = 10 * np.log10(denormalize_to_intensity(whole))
    mpx = n * n / 1e6
    print(f"tiling vs whole-image inference, {n}x{n} single-look date, weights sar2sar-s1, {threads} threads "
          f"(whole image at once: {mpx / t_whole:.3f} Mpx/s):")
    print(f"{'tile':>6}{'overlap':>9}{'fitted':>8}{'computed/output px':>20}{'network Mpx/s':>15}"
          f"{'max |diff| dB':>15}{'99.99th pct dB':>16}")
    for tile, overlap in settings:
        ft = fitted_tile(-(-n // GRID) * GRID, tile, overlap)
        t0 = time.perf_counter()
        y = tiled_apply(net, x, tile, overlap, 1, channels_last=True)
        dt = time.perf_counter() - t0
        d = np.abs(10 * np.log10(denormalize_to_intensity(y)) - ref_db)
        print(f"{tile:>6}{overlap:>9}{ft:>8}{computed_per_output(n, tile, overlap):>20.2f}{mpx / dt:>15.3f}{d.max():>15.3f}"
              f"{np.quantile(d, 0.9999):>16.4f}")


def optimization_trials(side: int, threads: int, compile_too: bool) -> None:
    """Network forward on one whole ``side`` x ``side`` tile: fp32 contiguous, channels_last (kept), bf16 autocast
    (kept only if PSNR changes < 0.05 dB), TorchScript freeze + optimize_for_inference, torch.compile, thread count."""
    from mtsar2sar.despeckle import denormalize_to_intensity
    from mtsar2sar.metrics import psnr_log
    from mtsar2sar.network import load_network

    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.normal(0.45, 0.05, (1, 1, side, side)).astype(np.float32))
    net = load_network("sar2sar-grd").eval()

    def timed(fn, repeats: int = 2) -> tuple[float, torch.Tensor]:
        with torch.inference_mode():
            out = fn()
            t0 = time.perf_counter()
            for _ in range(repeats):
                out = fn()
        return (time.perf_counter() - t0) / repeats, out.float()

    torch.set_num_threads(threads)
    base_t, base = timed(lambda: net(x))
    ref = denormalize_to_intensity(base.numpy()[0, 0])

    def report(name: str, seconds: float, out: torch.Tensor | None) -> None:
        d = ""
        if out is not None:
            est = denormalize_to_intensity(out.numpy()[0, 0])
            d = "; output identical to fp32" if np.array_equal(est, ref) else f"; PSNR vs fp32 output {psnr_log(est, ref):.1f} dB"
        print(f"  {name:<28}{side * side / 1e6 / seconds:>8.3f} Mpx/s  (x{base_t / seconds:.2f}){d}")

    print(f"network forward on one {side}x{side} tile, {threads} threads:")
    report("fp32, contiguous", base_t, None)
    net_cl = load_network("sar2sar-grd").eval().to(memory_format=torch.channels_last)
    cl_t, cl = timed(lambda: net_cl(x.to(memory_format=torch.channels_last)))
    report("channels_last (kept)", cl_t, cl)
    # bf16 on a 256 x 256 tile against fp32 on the same tile (on CPUs without bf16 units it is
    # many times slower: a 1024 x 1024 tile did not finish three passes in 8 minutes here)
    xs = x[..., :256, :256]
    small_t, small = timed(lambda: net(xs))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf_t, bf = timed(lambda: net(xs))
    ref_small = denormalize_to_intensity(small.numpy()[0, 0])
    bf_est = denormalize_to_intensity(bf.numpy()[0, 0])
    print(f"  {'bf16 autocast (256x256 tile)':<28}{256 * 256 / 1e6 / bf_t:>8.3f} Mpx/s  (x{small_t / bf_t:.2f} vs fp32 on"
          f" that tile); PSNR vs fp32 output {psnr_log(bf_est, ref_small):.1f} dB")
    for n in sorted({1, threads}):
        torch.set_num_threads(n)
        th_t, _ = timed(lambda: net(x))
        report(f"threads={n}", th_t, None)
    torch.set_num_threads(threads)
    # TorchScript freeze + optimize_for_inference: oneDNN prepacked weights, convolution fused with bias
    # and activation
    with torch.inference_mode():
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(
            load_network("sar2sar-grd").eval().to(memory_format=torch.channels_last),
            x.to(memory_format=torch.channels_last))))
    fz_t, fz = timed(lambda: frozen(x.to(memory_format=torch.channels_last)))
    report("jit freeze + optimize (oneDNN)", fz_t, fz)
    if compile_too:
        t0 = time.perf_counter()
        net_c = torch.compile(load_network("sar2sar-grd").eval())
        with torch.inference_mode():
            net_c(x)
        print(f"  torch.compile: first call (compilation) {time.perf_counter() - t0:.0f} s")
        c_t, c = timed(lambda: net_c(x))
        report("torch.compile", c_t, c)


def gpu_report(n: int, weights: str, device: str = "cuda") -> None:
    """The GPU measurements of the module's docstring (random network input; speed does not depend on it).
    ``device`` cpu runs the same code on the CPU (a check of this function, not a CPU benchmark)."""
    from mtsar2sar.despeckle import denormalize_to_intensity
    from mtsar2sar.metrics import psnr_log
    from mtsar2sar.network import load_network

    dev = torch.device(device)
    cuda = dev.type == "cuda"
    print(f"device: {torch.cuda.get_device_name(dev) if cuda else 'cpu'}; torch {torch.__version__}")
    side = 8192 if cuda else 512

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    def timed(fn, repeats: int = 5) -> float:
        fn()
        sync()
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        sync()
        return (time.perf_counter() - t0) / repeats

    rates = {}
    ma, mb = torch.randn(side, side, device=dev), torch.randn(side, side, device=dev)
    for name, tf32 in (("fp32", False), ("tf32", True)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        rates[name] = 2 * side**3 / timed(functools.partial(torch.mm, ma, mb)) / 1e12
    torch.backends.cuda.matmul.allow_tf32 = False
    ma = mb = torch.empty(0)
    fpp = flops_per_pixel()
    print(f"matmul {side}^3: fp32 {rates['fp32']:.1f} TFLOP/s, TF32 {rates['tf32']:.1f} TFLOP/s; network {fpp / 1e3:.1f} kFLOP per pixel")
    net = load_network(weights).eval().to(dev)
    rng = np.random.default_rng(0)
    img = rng.normal(0.45, 0.05, (n, n)).astype(np.float32)
    x = torch.from_numpy(img)[None, None].to(dev)
    mpx = n * n / 1e6
    outs = {}
    print(f"network alone, one {n}x{n} image on the device:")
    for name, tf32, bf16, cl in (("fp32", False, False, False), ("fp32 channels_last", False, False, True),
                                 ("TF32 convolutions", True, False, False), ("bf16 autocast", False, True, False),
                                 ("bf16 autocast channels_last", False, True, True)):
        torch.backends.cudnn.allow_tf32 = tf32
        m = net.to(memory_format=torch.channels_last if cl else torch.contiguous_format)
        xi = x.contiguous(memory_format=torch.channels_last) if cl else x

        def fwd(m: torch.nn.Module = m, xi: torch.Tensor = xi, bf16: bool = bf16) -> torch.Tensor:
            with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                return m(xi)

        dt = timed(fwd)
        outs[name] = denormalize_to_intensity(fwd().float().cpu().numpy()[0, 0])
        limit = rates["tf32" if tf32 or bf16 else "fp32"]
        d = "" if name == "fp32" else f"; PSNR vs fp32 output {psnr_log(outs[name], outs['fp32']):.1f} dB"
        print(f"  {name:<30}{mpx / dt:>9.1f} Mpx/s  {mpx / dt * 1e6 * fpp / (rates['fp32'] * 1e12):.2f} of the fp32 "
              f"matmul rate ({mpx / dt * 1e6 * fpp / (limit * 1e12):.2f} of its own){d}")
    net = net.to(memory_format=torch.contiguous_format)
    low = with_precision(copy.deepcopy(net), "bfloat16")
    torch.backends.cudnn.allow_tf32 = True

    def fwd_low() -> torch.Tensor:
        with torch.inference_mode():
            return low(x)

    dt = timed(fwd_low)
    print(f"  {'bf16 inner layers (precision)':<30}{mpx / dt:>9.1f} Mpx/s  {mpx / dt * 1e6 * fpp / (rates['fp32'] * 1e12):.2f} of the "
          f"fp32 matmul rate; PSNR vs fp32 output {psnr_log(denormalize_to_intensity(fwd_low().cpu().numpy()[0, 0]), outs['fp32']):.1f} dB")
    for tf32, model, label in ((False, net, "fp32"), (True, net, "TF32 (float32's default)"), (True, low, "bfloat16 inner layers")):
        torch.backends.cudnn.allow_tf32 = tf32
        print(f"tiled from host memory (copies and blending included), {label}, {n}x{n}:")
        for tile, overlap, batch in ((768, 128, 1), (768, 128, 4), (768, 128, 8), (1024, 128, 4), (n, 0, 1)):
            dt = timed(functools.partial(tiled_apply, model, img, tile, overlap, batch, dev), repeats=3)
            k = computed_per_output(n, tile, overlap) if overlap else 1.0
            print(f"  tile {tile:>5} overlap {overlap:>4} batch {batch:>2}: {mpx / dt:>8.1f} Mpx/s useful "
                  f"({mpx / dt * 1e6 * fpp / (rates['fp32'] * 1e12):.2f} of the fp32 matmul rate; {k:.2f} computed per output px)")
    torch.backends.cudnn.allow_tf32 = True  # PyTorch's default, as in the workflow
    cfg = SimulationConfig(height=n, width=n)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        s = np.exp(rng.normal(-2.5, 1.0, (n, n))).astype(np.float32)
        write_float32(d / "date.tif", (s * rng.exponential(1.0, (n, n))).astype(np.float32), cfg.grid())
        write_float32(d / "super.tif", s, cfg.grid())
        for batch, precision in ((1, "float32"), (4, "float32"), (1, "bfloat16"), (4, "bfloat16")):
            settings = {**DEFAULTS, "weights": weights, "batch": batch, "device": dev.type, "precision": precision}
            despeckle(d / "date.tif", "intensity", None, d / "super.tif", settings, d / "out.tif", looks=4.0)
            t0 = time.perf_counter()
            for _ in range(3):
                despeckle(d / "date.tif", "intensity", None, d / "super.tif", settings, d / "out.tif", looks=4.0)
            dt = (time.perf_counter() - t0) / 3
            print(f"despeckle step end to end ({n}x{n}, GeoTIFF in and out, device {dev.type}, tile {DEFAULTS['tile']}, "
                  f"overlap {DEFAULTS['overlap']}, batch {batch}, {precision}): {dt:.2f} s, {mpx / dt:.1f} Mpx/s")
        prof = Path(tmp) / "profile.out"
        import cProfile
        import pstats

        cProfile.runctx("despeckle(d / 'date.tif', 'intensity', None, d / 'super.tif', settings, d / 'out.tif', looks=4.0)",
                        globals(), {"despeckle": despeckle, "d": d, "settings": settings}, str(prof))
        print("where the step's time goes (cProfile, cumulative, the largest):")
        pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(r"mtsar2sar|rasterio/shutil", 14)


def host_work(n: int, runs: int = 3) -> None:
    """The `despeckle` step on one n x n date with a network that returns its input: the step's own work
    around the network (reading, ratio, debiasing, COG writing), the median of ``runs``, and its profile."""
    import cProfile
    import pstats

    from mtsar2sar.despeckle import NetworkDenoiser

    class Identity(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    rng = np.random.default_rng(0)
    grid = SimulationConfig(height=n, width=n).grid()
    settings = {**DEFAULTS, "weights": "sar2sar-ml", "device": "cpu"}
    den = NetworkDenoiser(Identity(), level=DEFAULTS["level"], tile=DEFAULTS["tile"], overlap=DEFAULTS["overlap"])
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        s = np.exp(rng.normal(-2.5, 1.0, (n, n))).astype(np.float32)
        write_float32(d / "date.tif", (s * rng.exponential(1.0, (n, n))).astype(np.float32), grid)
        write_float32(d / "super.tif", s, grid)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            despeckle(d / "date.tif", "intensity", None, d / "super.tif", settings, d / "out.tif", looks=4.0, denoiser=den)
            times.append(time.perf_counter() - t0)
        print(f"the despeckle step's host work, {n}x{n} date, identity network: {sorted(times)[runs // 2]:.2f} s "
              f"(median of {runs}; {min(times):.2f}-{max(times):.2f})")
        prof = d / "profile.out"
        cProfile.runctx("despeckle(d / 'date.tif', 'intensity', None, d / 'super.tif', settings, d / 'out.tif', looks=4.0, "
                        "denoiser=den)", globals(), {"despeckle": despeckle, "d": d, "settings": settings, "den": den},
                        str(prof))
        pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(r"mtsar2sar|rasterio/shutil", 12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tile", type=int, default=DEFAULTS["tile"], help="ours, against deepdespeckling (default: config.yaml)")
    ap.add_argument("--overlap", type=int, default=DEFAULTS["overlap"], help="ours (default: config.yaml)")
    ap.add_argument("--no-reference", action="store_true", help="skip the deepdespeckling comparison")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile trial (minutes to compile)")
    ap.add_argument("--only-trials", action="store_true", help="only the optimization trials and the comparison")
    ap.add_argument("--tile-sweep", type=int, default=0, metavar="N",
                    help="only the tile/overlap sweep against whole-image inference on an N x N date")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: the GPU measurements")
    ap.add_argument("--weights", default="sar2sar-ml", help="--device cuda: the network's weights")
    ap.add_argument("--processes", action="store_true",
                    help="only whole processes: `mtsar2sar despeckle` against deepdespeckling's inference, on --device")
    ap.add_argument("--precision", action="append", choices=["auto", "float32", "bfloat16"], default=None,
                    help="--processes: ours at this network.precision (repeat; default: float32)")
    ap.add_argument("--host-memory", action="append", choices=["keep", "release"], default=None,
                    help="--processes: ours with this MTSAR2SAR_HOST_MEMORY (repeat; default: keep)")
    ap.add_argument("--host-work", action="store_true",
                    help="only the despeckle step's work around the network (identity network), with its profile")
    args = ap.parse_args()
    if args.host_work:
        host_work(args.size)
        return
    if args.processes:
        process_comparison(args.size, args.device, args.threads, args.precision or ["float32"], args.tile, args.overlap,
                           args.host_memory or ["keep"])
        return
    torch.set_num_threads(args.threads)
    n = args.size
    if args.device == "cuda":
        gpu_report(n, args.weights)
        return
    fpp = flops_per_pixel()
    peak = matmul_gflops(args.threads)
    print(f"network FLOPs per pixel (counted): {fpp / 1e3:.1f} kFLOP; fp32 matmul rate, {args.threads} threads: {peak:.1f} GFLOP/s")
    if args.tile_sweep:
        tile_sweep(args.tile_sweep, args.threads,
                   [(768, 256), (768, 128), (1024, 256), (1024, 128), (1024, 64), (1536, 128), (512, 128)])
        return
    if args.only_trials:
        optimization_trials(1024, args.threads, not args.no_compile)
        if not args.no_reference:
            compare_with_reference(n, args.threads, fpp, peak, args.tile, args.overlap)
        return
    cfg = SimulationConfig(height=n, width=n)
    grid = cfg.grid()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        s = np.exp(rng.normal(-2.5, 1.0, (n, n))).astype(np.float32)
        w = (s * rng.exponential(1.0, (n, n))).astype(np.float32)
        write_float32(d / "date.tif", w, grid)
        write_float32(d / "super.tif", s, grid)
        print(f"{'tile':>6}{'overlap':>9}{'computed/output px':>20}{'network Mpx/s':>15}{'end-to-end Mpx/s':>18}"
              f"{'fraction of matmul rate: useful':>33}{'executed':>10}")
        for tile, overlap in sorted({(args.tile, args.overlap), (768, 256), (1024, 256), (768, 128), (1024, 128)}):
            settings = {"weights": "sar2sar-grd", "tile": tile, "overlap": overlap, "batch": 1, "device": "cpu",
                        "threads": args.threads}
            x = rng.random((n, n)).astype(np.float32)
            net = SAR2SARUNet().eval().to(memory_format=torch.channels_last)
            t0 = time.perf_counter()
            tiled_apply(net, x, tile, overlap, 1, channels_last=True)
            t_net = time.perf_counter() - t0
            t0 = time.perf_counter()
            despeckle(d / "date.tif", "intensity", None, d / "super.tif", settings, d / "out.tif", looks=4.0)
            t_all = time.perf_counter() - t0
            mpx = n * n / 1e6
            frac = mpx / t_net * 1e6 * fpp / (peak * 1e9)
            k = computed_per_output(n, tile, overlap)
            print(f"{tile:>6}{overlap:>9}{k:>20.2f}{mpx / t_net:>15.3f}{mpx / t_all:>18.3f}{frac:>33.2f}{frac * k:>10.2f}")
    optimization_trials(1024, args.threads, not args.no_compile)
    if not args.no_reference:
        compare_with_reference(n, args.threads, fpp, peak, args.tile, args.overlap)


if __name__ == "__main__":
    main()
