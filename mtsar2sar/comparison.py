"""The comparison methods as a workflow step: one method of :mod:`mtsar2sar.methods` on one date,
read from and written to GeoTIFFs on the input grid (the ``methods`` rule)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mtsar2sar.config import NetworkSettings, with_defaults
from mtsar2sar.despeckle import build_denoiser
from mtsar2sar.enl import estimate_enl
from mtsar2sar.errors import InputError
from mtsar2sar.io import read_intensity, read_product, write_float32
from mtsar2sar.logs import log
from mtsar2sar.provenance import PRODUCT_UNITS, network_tags, software_version, source_tags


def single_date_network(denoiser: Callable[[NDArray[np.float64]], NDArray[np.float64]],
                        w: NDArray[np.floating]) -> NDArray[np.float32]:
    """The network on one date alone (invalid pixels filled with the median, NaN again after)."""
    valid = np.isfinite(w) & (w > 0)
    filled = np.where(valid, w, np.nanmedian(np.where(valid, w, np.nan))).astype(np.float64)
    return np.where(valid, denoiser(filled), np.nan).astype(np.float32)


def run_method(
    method: str,
    date_file: str | Path,
    domain: str,
    band: int | None,
    looks: float,
    mean_path: str | Path,
    filtered_path: str | Path,
    mulog_settings: Mapping[str, Any],
    network_settings: Mapping[str, Any],
    output: str | Path,
    stack_files: list[str | Path] | None = None,
) -> None:
    """One method of the comparison on one date (see :mod:`mtsar2sar.methods`), on the input grid.
    ``stack_files``: every kept date of the AOI, in order (the Quegan filters use them all; they hold
    the stack in memory: a comparison method, not the workflow's product)."""
    from mtsar2sar import methods as m
    from mtsar2sar.denoisers import denoiser_of_settings
    from mtsar2sar.superimage import mulog_kwargs

    w, grid = read_intensity(date_file, domain, band)
    denoiser = denoiser_of_settings(mulog_settings)
    kw = mulog_kwargs(mulog_settings)
    t0 = time.perf_counter()
    extra: dict[str, str] = {}
    if method == "mean":
        out, _ = read_product(mean_path)
    elif method == "boxcar7":
        out = m.boxcar(w, 7)
    elif method == "mulog":
        out = m.run_mulog(w, looks, denoiser, **kw)
    elif method == "mulog_down2":
        out = m.run_mulog_down2(w, looks, denoiser, **kw)
    elif method == "sar2sar":
        out = single_date_network(build_denoiser(network_settings, looks), w)
    elif method in ("quegan", "quegan_sar2sar"):
        names = [str(f) for f in stack_files or []]
        if str(date_file) not in names:
            raise InputError(f"methods.run: {method} needs every date of the stack, including {date_file}")
        imgs = [read_intensity(f, domain, band)[0] for f in names]
        if method == "quegan":
            local = [m.boxcar(x, 7) for x in imgs]
        else:
            den = build_denoiser(network_settings, looks, progress=False)
            local = [single_date_network(den, x) for x in imgs]
        out = m.quegan(imgs, local, names.index(str(date_file)))
    elif method in ("rabasar", "rabasar_down2"):
        s, _ = read_product(filtered_path)
        looks_super = estimate_enl(s).enl
        extra["looks_super"] = repr(looks_super)
        fn = m.run_rabasar if method == "rabasar" else m.run_rabasar_down2
        out = fn(w, s, looks, looks_super, denoiser, **kw)
    else:
        raise InputError(f"methods.run: unknown method {method!r}; expected one of {list(m.METHODS)}")
    out = np.where(np.isfinite(w), out, np.nan)
    seconds = time.perf_counter() - t0
    log.info("%s on %s: %.2f Mpx in %.1f s (%.1f s/Mpx)", method, date_file, w.size / 1e6, seconds, seconds / (w.size / 1e6))
    if method in ("sar2sar", "quegan_sar2sar"):
        extra.update(network_tags(NetworkSettings.from_mapping(network_settings), looks))
    if method in ("mulog", "mulog_down2", "rabasar", "rabasar_down2"):
        used = {k: v for k, v in with_defaults("mulog", mulog_settings).items() if k != "block_jobs"}
        extra["mulog_settings"] = json.dumps(used, sort_keys=True)
    write_float32(output, out, grid, f"despeckled intensity ({method})",
                  {**source_tags(date_file), "method": method, "seconds": f"{seconds:.3f}", "source": str(date_file),
                   "looks": repr(looks), "units": PRODUCT_UNITS, "software": software_version(), **extra})
