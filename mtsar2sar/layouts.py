"""Named layouts of the common sources of stacks (``aois.<aoi>.layout``): where their files are, where
their dates are, their polarization, domain and looks, as data. A key the AOI gives itself wins over
its layout's. Documented in ``docs/inputs.md``; tested on files built to the published layouts
(``tests/test_dates.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mtsar2sar.errors import InputError


@dataclass(frozen=True)
class Layout:
    name: str
    source: str  # what it is, for messages and the generated configurations
    globs: tuple[str, ...]  # patterns of the dates' files in the folder given as inputs, the first that matches
    date_rules: tuple[tuple[str, str | None], ...]  # (date_regex, date_format) tried in order on each file
    domain_rules: tuple[tuple[str, str], ...]  # (regex on the file name, input_domain), first match
    looks_rules: tuple[tuple[str, float], ...]  # (regex on the file name, looks), first match
    looks_from_metadata: bool  # the looks of the products' metadata (DIMAP azimuth_looks x range_looks)
    polarization: str  # the polarization its globs take (another: give inputs as a pattern)
    names: str  # a regex of the layout's file paths (detection by `mtsar2sar init`)

    def domain_of(self, name: str) -> str:
        return next((d for rule, d in self.domain_rules if re.search(rule, name)), "intensity")

    def looks_of(self, name: str) -> float | None:
        return next((looks for rule, looks in self.looks_rules if re.search(rule, name)), None)


LAYOUTS: dict[str, Layout] = {
    # NASA/JPL OPERA L2 RTC-S1 GeoTIFFs: OPERA_L2_RTC-S1_<burst>_<acquired>Z_<processed>Z_<S1A>_30_v1.0_<pol>.tif,
    # gamma0 in linear power; tags ZERO_DOPPLER_START_TIME, ... (opera-adt/RTC); the stacks of data/ are
    # renamed OPERA_L2_RTC-S1_<burst>_<YYYYMMDD>_<S1A>_30_v1.0_<pol>.tif. Looks: the ENL measured on those.
    "opera_rtc": Layout(
        name="opera_rtc",
        source="NASA/JPL OPERA L2 RTC-S1 (GeoTIFF, gamma0 linear power, 30 m)",
        globs=("OPERA_L2_RTC-S1_*_VV.tif", "*/OPERA_L2_RTC-S1_*_VV.tif"),
        date_rules=((r"_(\d{8})(?:T\d{6}Z?)?_", None),),
        domain_rules=(),
        looks_rules=((r"_(VH|HV)\.tif$", 3.0), (r".", 5.0)),
        looks_from_metadata=False,
        polarization="VV",
        names=r"OPERA_L2_RTC-S1_[^/]*_(VV|VH|HH|HV)\.tif$",
    ),
    # ASF HyP3 RTC (GAMMA): <product>/<product>_<pol>.tif, <product> = S1A_IW_<YYYYMMDDTHHMMSS>_DVP_RTC30_G_gpuned_ABCD
    # (hyp3-docs, RTC product guide); no date tags. Scale from the name (p power, a amplitude, d dB); looks:
    # HyP3's multi-looking of the SLC (azimuth x range: 1 x 5 at 10 m, 2 x 10 at 20 m, 3 x 15 at 30 m).
    "hyp3_rtc": Layout(
        name="hyp3_rtc",
        source="ASF HyP3 RTC (GAMMA) GeoTIFF",
        globs=("S1*_RTC*_VV.tif", "*/S1*_RTC*_VV.tif"),
        date_rules=((r"_(\d{8})T\d{6}_", None),),
        domain_rules=((r"_RTC\d+_G_[gs]a", "amplitude"),),
        looks_rules=((r"_RTC10_", 5.0), (r"_RTC20_", 20.0), (r"_RTC30_", 45.0)),
        looks_from_metadata=False,
        polarization="VV",
        names=r"S1[A-D]_[A-Z0-9]{2}_\d{8}T\d{6}_[DS][VH][PRO]_RTC\d+_G_[a-z]{6}_[0-9A-F]{4}_(VV|VH|HH|HV)\.tif$",
    ),
    # ESA SNAP BEAM-DIMAP: <product>.dim and <product>.data/<band>.img (ENVI); a product per date
    # (S1A_IW_GRDH_1SDV_<YYYYMMDDTHHMMSS>_..._TC.data/Sigma0_VV.img: the date in the folder's name), or a
    # co-registered stack (stack.data/Sigma0_VV_mst_06Jan2024.img, ..._slv1_18Jan2024.img: in the band's).
    # Looks: the product's metadata (Abstracted_Metadata azimuth_looks x range_looks of the .dim).
    "snap": Layout(
        name="snap",
        source="ESA SNAP BEAM-DIMAP (.dim + .data/*.img)",
        globs=("*.data/*_VV.img", "*.data/*_VV_*.img"),
        date_rules=((r"_(\d{2}[A-Z][a-z]{2}\d{4})(?:\.img)?$", "%d%b%Y"), (r"(?<!\d)(\d{8})T\d{6}", None)),
        domain_rules=((r"(?i)^amplitude_", "amplitude"),),
        looks_rules=(),
        looks_from_metadata=True,
        polarization="VV",
        names=r"\.data/[^/]*_(VV|VH|HH|HV)(_[^/]*)?\.img$",
    ),
}


def layout(name: str) -> Layout:
    if name not in LAYOUTS:
        raise InputError(f"layout: {name!r} is not one of {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


def layout_pattern(spec: Layout, folder: str, base: str | Path = ".") -> str:
    """The pattern of a layout's files in ``folder`` (relative to ``base``): its first glob that matches a
    file; an error naming the folder and the globs when none does."""
    import glob

    root = Path(folder) if Path(folder).is_absolute() else Path(base) / folder
    for g in spec.globs:
        if any(Path(p).is_file() for p in glob.glob(str(root / g))):
            return str(Path(folder) / g)
    raise InputError(f"inputs: {folder!r} holds no file of layout {spec.name} ({spec.source}; looked for"
                     f" {', '.join(spec.globs)}); for another polarization than {spec.polarization} give a pattern,"
                     f" e.g. inputs: {str(Path(folder) / spec.globs[0].replace('_VV', '_VH'))!r}")


def detect(folder: Path) -> tuple[Layout | None, list[Path]]:
    """The layout whose files ``folder`` holds (the first of :data:`LAYOUTS` with a file there) and those
    files; (None, []) when none."""
    import glob

    for spec in LAYOUTS.values():
        for g in spec.globs:
            files = sorted(Path(p) for p in glob.glob(str(folder / g)) if Path(p).is_file())
            if files and all(re.search(spec.names, p.as_posix()) for p in files):
                return spec, files
    return None, []
