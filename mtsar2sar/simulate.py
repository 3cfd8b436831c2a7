"""Simulated multi-temporal SAR stacks with a known truth: the demo AOIs and the test fixtures.

The clean reflectivity is built to look like a Sentinel-1 scene over farmland: Voronoi parcels with
their own level, texture and tillage rows, thin dark roads (1-2 px), a river and a lake, a textured
forest, an urban block of buildings with bright double-bounce edges, and bright point targets
(more than 40 dB of dynamic range). Over time, crops grow and are harvested (per-parcel seasonal
profiles), a bright target appears half-way, and a flood covers low fields for a few dates.

Speckle per date is either single-look with Sentinel-1-like spatial correlation (a complex circular
Gaussian white field low-pass filtered by a Hamming spectral window covering 1/``oversampling`` of the
band in each axis, then ``|.|^2``, mean 1) or L-look Gamma (white). Everything derives from one seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from numpy.typing import NDArray
from rasterio.crs import CRS

from mtsar2sar.io import Grid, write_float32

Array = NDArray[np.float64]


@dataclass(frozen=True)
class SimulationConfig:
    seed: int = 0
    height: int = 512
    width: int = 512
    dates: int = 20
    start: str = "2024-01-06"
    interval_days: int = 12
    looks: float = 1.0
    speckle: str = "correlated"  # correlated (single-look, Sentinel-1-like) | gamma (L-look, white)
    oversampling: float = 1.2
    hamming_alpha: float = 0.75
    crs: str = "EPSG:32631"
    origin: tuple[float, float] = (600000.0, 4800000.0)  # x, y of the upper-left corner
    pixel_size: float = 10.0
    changes: bool = True

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SimulationConfig:
        d = dict(d)
        if "origin" in d:
            d["origin"] = tuple(d["origin"])
        return cls(**d)

    def date_keys(self) -> list[str]:
        t0 = dt.date.fromisoformat(self.start)
        return [(t0 + dt.timedelta(days=self.interval_days * i)).strftime("%Y%m%d") for i in range(self.dates)]

    def grid(self) -> Grid:
        x0, y0 = self.origin
        transform = Affine(self.pixel_size, 0.0, x0, 0.0, -self.pixel_size, y0)
        return Grid(self.height, self.width, CRS.from_string(self.crs), transform, None)


def db(x: Array | float) -> Array:
    return 10 ** (np.asarray(x, dtype=np.float64) / 10)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> Array:
    """Unit-variance Gaussian noise correlated over ``sigma`` pixels."""
    from scipy.ndimage import gaussian_filter  # here: the workflow imports this module to read its config

    n = gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return n / n.std()


def _line_mask(shape: tuple[int, int], p0: tuple[float, float], p1: tuple[float, float], width: float) -> NDArray[np.bool_]:
    """Pixels within ``width/2`` of the segment p0-p1 (row, col)."""
    rr, cc = np.indices(shape, dtype=np.float64)
    (r0, c0), (r1, c1) = p0, p1
    dr, dc = r1 - r0, c1 - c0
    t = np.clip(((rr - r0) * dr + (cc - c0) * dc) / (dr * dr + dc * dc), 0, 1)
    return np.hypot(rr - (r0 + t * dr), cc - (c0 + t * dc)) <= width / 2


@dataclass
class Scene:
    """Static layers of the scene and the per-parcel temporal behaviour."""

    base_db: Array
    parcel: NDArray[np.int64]
    crop_parcels: NDArray[np.int64]
    amplitude_db: Array
    phase: Array
    harvest: NDArray[np.int64]
    flood_mask: NDArray[np.bool_]
    new_target: tuple[int, int]
    fixed_mask: NDArray[np.bool_] = field(repr=False)


def build_scene(cfg: SimulationConfig, rng: np.random.Generator) -> Scene:
    from scipy.ndimage import distance_transform_edt, gaussian_filter, label
    from scipy.spatial import cKDTree  # here: the workflow's other steps need not import them

    h, w = cfg.height, cfg.width
    shape = (h, w)
    # Parcels: Voronoi cells of jittered grid points (sharp polygonal edges).
    step = max(min(h, w) // 7, 24)
    gy, gx = np.meshgrid(np.arange(step / 2, h, step), np.arange(step / 2, w, step), indexing="ij")
    pts = np.stack([gy.ravel(), gx.ravel()], 1) + rng.uniform(-step * 0.35, step * 0.35, (gy.size, 2))
    rr, cc = np.indices(shape)
    _, parcel = cKDTree(pts).query(np.stack([rr.ravel(), cc.ravel()], 1))
    parcel = parcel.reshape(shape).astype(np.int64)
    n = len(pts)
    level = rng.uniform(-15.0, -7.0, n)
    tex_std = rng.choice([0.0, 0.3, 0.8, 1.5], n, p=[0.35, 0.3, 0.2, 0.15])  # dB; many fields are flat
    base = level[parcel]
    tex = _smooth_noise(rng, shape, 1.5)
    base = base + tex_std[parcel] * tex
    # Tillage rows in a third of the parcels: a periodic pattern with its own orientation and period.
    rows = rng.random(n) < 0.33
    theta, period = rng.uniform(0, np.pi, n), rng.uniform(3.0, 7.0, n)
    proj = (rr * np.cos(theta[parcel]) + cc * np.sin(theta[parcel])) / period[parcel]
    base = base + np.where(rows[parcel], 1.5 * np.sin(2 * np.pi * proj), 0.0)
    fixed = np.zeros(shape, dtype=bool)  # pixels whose reflectivity is not driven by the crop cycle
    # Forest: one or two parcels with strong, fine texture at a higher level.
    forest_ids = rng.choice(n, size=2, replace=False)
    forest = np.isin(parcel, forest_ids)
    base = np.where(forest, -7.5 + 2.5 * _smooth_noise(rng, shape, 1.0), base)
    fixed |= forest
    # Water: a lake (noisy ellipse) and a meandering river.
    cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
    ay, ax = 0.09 * h, 0.13 * w
    edge = 0.15 * gaussian_filter(rng.standard_normal(shape), 6, mode="wrap") / 0.02
    lake = ((rr - cy) / ay) ** 2 + ((cc - cx) / ax) ** 2 < 1 + 0.2 * np.tanh(edge)
    t = np.linspace(0, 1, 4 * (h + w))
    river_line = np.stack([h * (0.75 + 0.08 * np.sin(2 * np.pi * 2.2 * t + rng.uniform(0, 6))), w * (0.1 + 0.8 * t)], 1)
    dist, _ = cKDTree(river_line).query(np.stack([rr.ravel(), cc.ravel()], 1))
    river_width = 3.0 + 3.0 * (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * cc / w))
    river = dist.reshape(shape) <= river_width / 2
    water = lake | river
    # Roads: straight dark lines, 1 or 2 px wide, along random directions.
    roads = np.zeros(shape, dtype=bool)
    for k in range(4):
        p0 = (rng.uniform(0, h), 0.0) if k % 2 == 0 else (0.0, rng.uniform(0, w))
        p1 = (rng.uniform(0, h), float(w)) if k % 2 == 0 else (float(h), rng.uniform(0, w))
        roads |= _line_mask(shape, p0, p1, 1.0 + (k % 2))
    base = np.where(roads, -19.0, base)
    fixed |= roads
    # Urban block: buildings (bright, textured) on a street grid, with bright double-bounce edges.
    uh, uw = int(0.16 * h), int(0.18 * w)
    u0, v0 = int(rng.uniform(0.05, 0.75) * h), int(rng.uniform(0.05, 0.75) * w)
    urban = np.zeros(shape, dtype=bool)
    urban[u0 : u0 + uh, v0 : v0 + uw] = True
    block = 9
    bu = ((rr - u0) % block >= 2) & ((cc - v0) % block >= 2) & urban
    dbl = urban & ((rr - u0) % block == 2) & ((cc - v0) % block >= 2)
    base = np.where(urban, -12.0, base)
    base = np.where(bu, 2.0 + 3.0 * _smooth_noise(rng, shape, 0.7), base)
    base = np.where(dbl, 14.0, base)
    fixed |= urban
    base = np.where(water, -24.0 + 0.5 * _smooth_noise(rng, shape, 3.0), base)
    fixed |= water
    # Point targets: isolated bright pixels (pylons, masts).
    for _ in range(15):
        r, c = int(rng.uniform(2, h - 2)), int(rng.uniform(2, w - 2))
        base[r, c] = rng.uniform(20.0, 28.0)
        fixed[r, c] = True
    # Temporal behaviour of the crop parcels.
    crops = np.setdiff1d(np.arange(n), forest_ids)
    amp = np.where(rng.random(n) < 0.6, rng.uniform(1.0, 4.0, n), 0.0)
    phase = rng.uniform(0, 2 * np.pi, n)
    harvest = np.where(rng.random(n) < 0.25, rng.integers(cfg.dates // 4, cfg.dates, n), -1)
    # Flood: the low fields next to the river (within 20 px), for about a fifth of the dates.
    near_river = distance_transform_edt(~river) < max(8, 0.04 * min(h, w))
    flood = near_river & ~water & ~urban & ~roads & (_smooth_noise(rng, shape, 8) > -0.2)
    lab, nlab = label(flood)
    if nlab:
        sizes = np.bincount(lab.ravel())[1:]
        flood = lab == (1 + int(np.argmax(sizes)))
    target = (int(rng.uniform(0.1, 0.9) * h), int(rng.uniform(0.1, 0.9) * w))
    return Scene(base, parcel, crops, amp, phase, harvest, flood, target, fixed)


def reflectivity(scene: Scene, cfg: SimulationConfig, t: int) -> Array:
    """Truth intensity (linear) of date ``t``."""
    base = scene.base_db.copy()
    if cfg.changes:
        p = scene.parcel
        season = scene.amplitude_db * np.sin(2 * np.pi * t / max(cfg.dates, 2) + scene.phase)
        harvested = (scene.harvest >= 0) & (t >= scene.harvest)
        delta = season - 5.0 * harvested
        crop = np.isin(p, scene.crop_parcels) & ~scene.fixed_mask
        base = np.where(crop, base + delta[p], base)
        t0, t1 = int(0.45 * cfg.dates), int(0.45 * cfg.dates) + max(2, cfg.dates // 5)
        if t0 <= t < t1:
            base = np.where(scene.flood_mask, -23.0, base)
        if t >= cfg.dates // 2:
            r, c = scene.new_target
            base[r - 1 : r + 2, c - 1 : c + 2] = 25.0
    return db(base)


def hamming_transfer(shape: tuple[int, int], oversampling: float, alpha: float) -> Array:
    """Separable Hamming spectral window covering 1/oversampling of the band in each axis, zero outside."""
    out = np.ones(shape)
    for axis, n in enumerate(shape):
        f = np.fft.fftfreq(n)  # cycles per sample, in [-0.5, 0.5)
        band = 1.0 / oversampling
        win = np.where(np.abs(f) <= band / 2, alpha + (1 - alpha) * np.cos(2 * np.pi * f / band), 0.0)
        out = out * (win[:, None] if axis == 0 else win[None, :])
    return out


def speckle(cfg: SimulationConfig, rng: np.random.Generator) -> Array:
    """One date of unit-mean speckle (intensity): Gamma(L, L), or Sentinel-1-like spatially correlated
    speckle (a complex white Gaussian field through a Hamming spectral window), averaged over L draws."""
    shape = (cfg.height, cfg.width)
    if cfg.speckle == "gamma":
        return rng.gamma(cfg.looks, 1.0 / cfg.looks, shape)
    if cfg.speckle != "correlated":
        raise ValueError(f"simulate.speckle must be 'correlated' or 'gamma', got {cfg.speckle!r}")
    # L looks: the mean of round(L) independent correlated single-look draws (GRD-like multi-looking)
    h = hamming_transfer(shape, cfg.oversampling, cfg.hamming_alpha)
    n = max(1, round(cfg.looks))
    total = np.zeros(shape)
    for _ in range(n):
        z = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
        zf = np.fft.ifft2(np.fft.fft2(z) * h / np.sqrt(np.mean(h**2)))
        total += zf.real**2 + zf.imag**2
    return total / n


def simulate_stack(cfg: SimulationConfig) -> tuple[list[str], list[Array], list[Array], NDArray[np.bool_]]:
    """Dates, truth intensities, noisy intensities and the mask of pixels that change over time."""
    seeds = np.random.SeedSequence(cfg.seed).spawn(cfg.dates + 1)
    scene = build_scene(cfg, np.random.default_rng(seeds[0]))
    truths = [reflectivity(scene, cfg, t) for t in range(cfg.dates)]
    noisy = [v * speckle(cfg, np.random.default_rng(s)) for v, s in zip(truths, seeds[1:])]
    logs = np.log(np.stack(truths))
    changed = (logs.max(0) - logs.min(0)) > np.log(10 ** 0.3)  # > 3 dB over the stack
    return cfg.date_keys(), truths, noisy, changed


def write_stack(cfg: SimulationConfig, noisy_dir: Path, truth_dir: Path, changed_path: Path | None = None) -> list[str]:
    """Write one GeoTIFF per date for the noisy stack and its truth; returns the date keys."""
    dates, truths, noisy, changed = simulate_stack(cfg)
    grid = cfg.grid()
    for d, v, w in zip(dates, truths, noisy):
        write_float32(Path(noisy_dir) / f"{d}.tif", w, grid, "intensity (simulated, speckled)")
        write_float32(Path(truth_dir) / f"{d}.tif", v, grid, "intensity (simulated truth)")
    if changed_path is not None:
        write_float32(changed_path, changed.astype(np.float32), grid, "1 where the truth changes over time")
    return dates
