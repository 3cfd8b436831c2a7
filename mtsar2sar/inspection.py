"""What ``mtsar2sar init`` and ``mtsar2sar run INPUTS`` find in a stack's files: the configuration of one
AOI (its files, their dates and where they come from, the layout, the domain guessed from the values,
the looks from the layout, the metadata or the data), and the text of that configuration, commented.

Read-only: the files' headers, tags and a window of the first date's values are read; nothing is written
(a multi-band stack's bands are read in place, not through the workflow's per-date VRTs).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtsar2sar.dates import DateNotFound, Dates
from mtsar2sar.errors import InputError

POLARIZATIONS = ("VV", "VH", "HH", "HV")


@dataclass
class Found:
    """What :func:`inspect_stack` found of a stack: the AOI's configuration and what it was read from."""

    aoi: str
    spec: dict[str, Any]  # the AOI's keys
    notes: dict[str, str] = field(default_factory=dict)  # key -> where its value comes from
    summary: list[str] = field(default_factory=list)  # lines on the files, dates and grid
    dates_found: bool = True

    def config_text(self, comments: bool = True) -> str:
        """The configuration (YAML), each key with its source as a comment."""
        lines = [f"# {line}" for line in self.summary] if comments else []
        lines += ["aois:", f"  {self.aoi}:"]
        for key, value in self.spec.items():
            if key == "dates" and isinstance(value, Mapping):
                lines.append("    dates:" + (f"  # {self.notes[key]}" if comments and key in self.notes else ""))
                lines += [f"      {json.dumps(str(p))}: {json.dumps(d)}" for p, d in value.items()]
                continue
            note = f"  # {self.notes[key]}" if comments and key in self.notes else ""
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            lines.append(f"    {key}: {json.dumps(value)}{note}")
        return "\n".join(lines) + "\n"


def aoi_name(text: str) -> str:
    """A name of letters, digits, ``_`` and ``-`` (an AOI's) made of ``text``."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")
    return name or "stack"


def guess_domain(path: Path, band: int | None = None) -> tuple[str, str]:
    """(input_domain, why) of a file from its values: complex data, integers (amplitude DN), more than a
    tenth of the values negative (dB: refused, to be converted), positive values with the speckle of a 1- or
    2-look amplitude (:func:`mtsar2sar.enl.amplitude_evidence`), else intensity."""
    import numpy as np

    from mtsar2sar.io import open_raster

    with open_raster(path) as ds:
        dtype = ds.dtypes[(band or 1) - 1]
        h = min(ds.height, 512)
        from rasterio.windows import Window

        values = ds.read(band or 1, window=Window(0, (ds.height - h) // 2, ds.width, h))
    if np.issubdtype(np.dtype(dtype), np.complexfloating) or dtype.startswith("complex"):
        return "complex", f"guessed: {dtype} values (a single-look complex image)"
    if np.issubdtype(np.dtype(dtype), np.integer):
        return "amplitude", f"guessed: {dtype} values (digital numbers of an amplitude, as Sentinel-1 GRD's)"
    finite = values[np.isfinite(values)]
    if finite.size and float(np.mean(finite < 0)) > 0.1:
        raise InputError(f"{path}: {float(np.mean(finite < 0)):.0%} of its values are negative: the data look like"
                         " dB; convert them to linear units first (10 ** (dB / 10))")
    from mtsar2sar.enl import AMPLITUDE_EVIDENCE, amplitude_evidence

    evidence = amplitude_evidence(np.where(np.isfinite(values) & (values > 0), values, np.nan))
    if evidence is not None and evidence > AMPLITUDE_EVIDENCE:
        return "amplitude", (f"guessed: positive real values whose speckle is that of an amplitude |z| (moments against"
                             f" log-variance: {evidence:+.2f}; above +{AMPLITUDE_EVIDENCE:.2f}: amplitude), intensity if"
                             " they are |z|^2")
    return "intensity", "guessed: positive real values (amplitude if they are |z|, not |z|^2)"


def estimated_looks(path: Path, domain: str, band: int | None = None) -> float:
    """The ENL of a date's most homogeneous windows (its central 1024 rows), at least 1."""
    from mtsar2sar.enl import estimate_enl
    from mtsar2sar.io import read_grid, read_intensity

    h = read_grid(path).height
    r0 = max(0, h // 2 - 512)
    img, _ = read_intensity(path, domain, band, (r0, min(h, r0 + 1024)))
    try:
        return max(1.0, round(float(estimate_enl(img).enl), 1))
    except (ValueError, InputError):
        return 1.0


def inspect_stack(
    inputs: str, directory: Path, aoi: str | None = None, looks: float | None = None, layout_name: str | None = None,
    domain: str | None = None, date_format: str | None = None, need_looks: bool = False, need_dates: bool = False,
) -> Found:
    """The configuration of one AOI of ``inputs`` (a glob pattern, or a folder: its layout's files, else its
    GeoTIFFs), relative to ``directory``: the layout, the dates' source, the domain and the looks found
    (``need_looks``: an error when neither ``looks``, the layout nor the files' tags give them; else
    the ENL of the first date, estimated). Files without a date: a table of placeholders to fill in, or with
    ``need_dates`` the error a configuration of that AOI gives (where the date was looked for, and a line
    that gives it). Fewer than 2 dates: an error naming ``inputs``."""
    from mtsar2sar.config import AoiSpec
    from mtsar2sar.dates import source_kind, suggested_format
    from mtsar2sar.io import read_grid
    from mtsar2sar.layouts import detect, layout

    root = Path(inputs) if Path(inputs).is_absolute() else directory / inputs
    preset = layout(layout_name) if layout_name else None
    spec: dict[str, Any] = {}
    notes: dict[str, str] = {}
    if root.is_dir():
        if preset is None:
            preset, _ = detect(root)
        if preset is not None:
            spec["inputs"] = inputs
            notes["inputs"] = f"a folder of {preset.source}: its files {' or '.join(preset.globs)}"
        else:
            spec["inputs"] = str(Path(inputs) / geotiff_glob(inputs, root))
    else:
        spec["inputs"] = inputs
    if preset is not None:
        spec["layout"] = preset.name
        notes["layout"] = preset.source
    if date_format:
        spec["date_format"] = date_format
    # the folder as given, its links not followed: site1 -> ../p1/stack is named site1
    folder = Path(os.path.abspath(root if root.is_dir() else root.parent))
    # a folder of one polarization (<site>/VV/) is named with its site
    name = aoi or aoi_name(f"{folder.parent.name}_{folder.name}" if folder.name.upper() in POLARIZATIONS
                           else folder.name)
    listed: list[Path] = []  # the files, where no date is found
    count = 0
    try:
        found: Dates | None = discover_dates(name, spec, directory)
    except DateNotFound as exc:
        found, missing = None, exc
    if found is None:  # the message's suggestion, where the names hold dates in another order
        from mtsar2sar.dates import band_count
        from mtsar2sar.stack import glob_files

        listed = glob_files(AoiSpec.from_config(name, spec).pattern(directory), directory)
        count = band_count(listed[0]) if len(listed) == 1 else 0  # one multi-band file: a band per date
        fmt = suggested_format(listed) if count < 2 else None
        if fmt is not None and "date_format" not in spec:
            spec["date_format"] = fmt
            notes["date_format"] = ("the order of the dates in the file names" if fmt.startswith("%Y")
                                    else "the order of the dates in the file names (check it: day or month first?)")
            found = dates_of(name, spec, directory)
        if found is None and need_dates:  # as the workflow reports an AOI of the files given, with no table
            raise InputError(f"AOI {name!r}: {missing}") from None
        if found is None and count > 1:
            spec["dates"] = ["YYYY-MM-DD"] * count
            notes["dates"] = (f"NO DATE FOUND in the bands' descriptions or tags: write the date (YYYY-MM-DD) of each"
                              f" of the {count} bands, in band order")
        elif found is None:
            check_stack_size(inputs, root, listed)
            spec["dates"] = {str(f) if Path(spec["inputs"]).is_absolute() else os.path.relpath(f, directory):
                             "YYYY-MM-DD" for f in listed}
            notes["dates"] = "NO DATE FOUND in the names or tags: write each file's date (YYYY-MM-DD)"
    files: dict[str, Path] = found.files if found is not None else {}
    if found is not None:
        check_stack_size(inputs, root, list(files.values()))
    # the first date's file (without dates: the first file, to guess the domain and the looks from)
    first = next(iter(files.values())) if files else (listed[0] if listed else None)
    resolved, layout_looks = None, True
    if files:
        try:  # the layout's domain, and its looks unless given
            resolved = AoiSpec.from_config(name, spec | ({"looks": looks} if looks is not None else {})).resolved(files)
        except InputError:  # the layout reads the looks from the metadata, and they are not there
            resolved, layout_looks = AoiSpec.from_config(name, spec | {"looks": 1}).resolved(files), False
    # one multi-band file (a band per date): the first date is its band, read in place
    band = found.bands.get(next(iter(files))) if found is not None and files else (1 if count > 1 else None)
    if domain is not None:
        spec["input_domain"] = domain
    elif resolved is not None and preset is not None:
        spec["input_domain"] = resolved.input_domain
        notes["input_domain"] = f"from the layout {preset.name}"
    elif first is not None:
        spec["input_domain"], notes["input_domain"] = guess_domain(first, band)
    if looks is not None:
        spec["looks"] = looks
    elif resolved is not None and resolved.looks_given and layout_looks:
        spec["looks"] = resolved.looks
        notes["looks"] = f"from the layout {preset.name}" if preset is not None and preset.looks_rules else \
            "from the files' metadata"
    elif first is not None and (tagged := looks_in_tags(first, band)) is not None:
        spec["looks"], notes["looks"] = tagged[0], f"from the metadata of {first.name}: {tagged[1]}"
    elif need_looks:
        where = f"{first}: " if first is not None else ""
        raise InputError(f"{where}no number of looks in the files' metadata (tags LOOKS, NUMBER_OF_LOOKS, DIMAP"
                         " azimuth_looks x range_looks) nor their layout: give --looks (1 for single-look data)")
    elif first is not None:
        spec["looks"] = estimated_looks(first, spec.get("input_domain", "intensity"), band)
        notes["looks"] = "ESTIMATED (the ENL of the first date's most homogeneous windows): no looks in the" \
            " metadata; set the product's nominal looks"
    summary = [f"mtsar2sar configuration of {inputs} (mtsar2sar init); every key: docs/configuration.md"]
    if found is not None and files:
        sources = sorted({band_source_kind(s) if found.bands else source_kind(s) for s in found.sources.values()})
        keys = list(files)
        summary.append(f"{len(keys)} dates, from: {'; '.join(sources)}:")
        summary += ["  " + " ".join(keys[i:i + 8]) for i in range(0, len(keys), 8)]
        if found.bands and first is not None:
            summary.append(f"one file of a band per date ({first.name}, bands {', '.join(map(str, found.bands.values()))}"
                           " in date order); the run reads each band through a VRT of its own")
        grid = read_grid(next(iter(files.values())))
        size = f", {abs(grid.transform.a):g} x {abs(grid.transform.e):g} (CRS units)" if grid.crs else ""
        summary.append(f"grid of the first date: {grid.width} x {grid.height} px, {grid.crs or 'no CRS'}{size};"
                       " the run checks that every date is on it")
    return Found(name, spec, notes, summary, dates_found=found is not None)


def discover_dates(name: str, spec: dict[str, Any], directory: Path) -> Dates:
    """The AOI's dates (:class:`mtsar2sar.dates.Dates`) as the workflow finds them
    (:meth:`mtsar2sar.config.AoiSpec.find_dates`); :class:`mtsar2sar.dates.DateNotFound` when no source gives
    a file one, with the workflow's message. Read-only: a multi-band file's dates are its bands
    (``Dates.bands``), each mapped to the file itself, not to the per-date VRT the workflow writes under
    ``results/``."""
    from mtsar2sar.config import AoiSpec
    from mtsar2sar.dates import discover

    aoi = AoiSpec.from_config(name, spec)
    return discover(aoi.pattern(directory), date_format=aoi.date_format, date_source=aoi.date_source,
                    table=aoi.dates, base=directory, rules=aoi.date_rules, split_bands=aoi.band is None)


def dates_of(name: str, spec: dict[str, Any], directory: Path) -> Dates | None:
    """:func:`discover_dates`, or None when no source gives every file a date."""
    try:
        return discover_dates(name, spec, directory)
    except DateNotFound:
        return None


# Globs of a folder's GeoTIFFs, narrowest first: the first that takes all of them and no other file is its inputs
GEOTIFF_GLOBS = ("*.tif", "*.tiff", "*.TIF", "*.TIFF", "*.[tT][iI][fF]", "*.[tT][iI][fF][fF]", "*.[tT][iI][fF]*")


def geotiff_glob(inputs: str, root: Path) -> str:
    """The glob of the GeoTIFFs (``.tif``, ``.tiff``, any case) of the folder ``root`` (``inputs`` as given):
    the first of :data:`GEOTIFF_GLOBS` that takes every one of them and no other file; an error naming the
    folder when it holds none, or naming the files no glob takes with the others."""
    from mtsar2sar.layouts import LAYOUTS

    tifs = {p for p in root.iterdir() if p.suffix.lower() in (".tif", ".tiff") and not p.name.startswith(".")
            and p.is_file()}  # as glob.glob takes them: no hidden file
    if not tifs:
        raise InputError(f"{inputs}: no GeoTIFF (*.tif, *.tiff) and no file of a known layout"
                         f" ({', '.join(LAYOUTS)}) in this folder; give a glob pattern of the dates' files")
    for g in GEOTIFF_GLOBS:
        if {p for p in root.glob(g) if p.is_file() and not p.name.startswith(".")} == tifs:
            return g
    suffixes = sorted({p.suffix for p in tifs}, key=lambda x: (-sum(p.suffix == x for p in tifs), x != ".tif", x))
    common, odd = suffixes[0], sorted(p.name for p in tifs if p.suffix != suffixes[0])
    raise InputError(f"{inputs}: its GeoTIFFs end in {', '.join(sorted(suffixes))}, and no glob"
                     f" pattern takes them all without the folder's other files: rename {', '.join(odd)} to"
                     f" {common}, or give a glob pattern of the dates' files")


def is_pattern(inputs: str) -> bool:
    """Whether ``inputs`` is a glob pattern (``*``, ``?`` or ``[``), not a path."""
    return re.search(r"[*?[]", inputs) is not None


def check_stack_size(inputs: str, root: Path, files: list[Path]) -> None:
    """An :class:`InputError` naming ``inputs`` (``root``: where it points) when it gives fewer than 2 dates:
    the super-image and the ratios need several dates of the scene."""
    if len(files) >= 2:
        return
    only = f"found {len(files)}" + (f" ({files[0]})" if files else "")
    if root.is_dir():
        where = " in this folder"
    elif is_pattern(inputs):
        where = " matching the pattern"
    else:
        where = f": give the folder of the scene's dates ({Path(inputs).parent}/), or a glob pattern of their files"
    raise InputError(f"{inputs}: multi-temporal despeckling needs at least 2 dates; {only}{where}")


def band_source_kind(source: str) -> str:
    """What kind of source a band's date record names (``band description``, ``band tag
    ACQUISITION_START_TIME``, ``band DIMAP BAND_NAME``, ``band dates (config)``), without the band's number."""
    m = re.match(r"band \d+:? (description|DIMAP BAND_NAME|tag \S+|dates \(config\))", source)
    return f"band {m.group(1)}" if m else source.split(":")[0]


def looks_in_tags(path: Path, band: int | None = None) -> tuple[float, str] | None:
    """(nominal looks, where) from a file's tags or DIMAP metadata (:func:`mtsar2sar.dates.read_looks`); for
    ``band`` of a multi-band file, the dataset's tags with the band's own (the band's win), as the VRT the
    workflow reads that band through carries them."""
    from mtsar2sar.dates import looks_tag, read_looks
    from mtsar2sar.io import open_raster

    if band is not None:
        with open_raster(path) as ds:
            own = {str(k).upper(): str(v) for k, v in ds.tags(band).items()}
            tags = {str(k).upper(): str(v) for k, v in ds.tags().items()} | own
        found = looks_tag(tags)
        if found is not None:
            value, name = found
            return value, f"{f'band {band} ' if name in own else ''}tag {name} = {tags[name]}"
    return read_looks(path)
