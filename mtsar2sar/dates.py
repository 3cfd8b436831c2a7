"""The date of each file of a stack, from where users keep it, and where each came from.

Sources, for each AOI (``aois.<aoi>`` keys of the configuration):

- **the path** (``date_source: path``): ``date_regex`` searched in the file name, then in its path below
  the pattern's first wildcard folder (:mod:`mtsar2sar.stack`). With ``date_format`` (``"%d%m%Y"``,
  ``"%d%b%Y"``, ``"%Y-%m-%dT%H%M%S"``...) the captured text is read as a date in that order, so that a
  day-first date or a month name becomes a key; without ``date_regex``, the regex is made from the format.
- **the file's metadata** (``date_source: metadata``): the tags of :data:`DATE_TAGS`, in that order, the
  GDAL ``IMAGERY`` domain's ``ACQUISITIONDATETIME``, then the BEAM-DIMAP metadata that SNAP writes (the
  ``.dim`` beside a ``.data`` folder, or TIFF tag 65000 of a SNAP GeoTIFF), then ``TIFFTAG_DATETIME``. A
  band of a SNAP product whose name carries SNAP's date (``stack.data/Sigma0_VV_slv1_18Jan2024.img``) is
  dated by it first: the ``.dim``'s time is the product's (a co-registered stack's master's, every band's).
- **a table** (``dates``): a mapping path -> date, or a CSV file of ``path,date`` rows.

One multi-band file (GeoTIFF, VRT, ENVI...) as the AOI's inputs is a stack of one band per date
(:func:`band_dates`): each band's date from its description (``Sigma0_VV_06Jan2024`` as SNAP names a stack's
bands, an ISO or ``yyyymmdd`` date), else its band-level tags (:data:`DATE_TAGS`), else the band's name in SNAP's
DIMAP metadata; or from ``dates`` given as a list, in band order.

``date_source: auto`` (the default) dates each file by its path, else by its metadata. Keys are ``YYYYMMDD`` (``YYYYMMDDTHHMMSS`` for a format or table with a time of day,
and for metadata dates of which two fall on one day); without ``date_format``, a key from the path is the
captured text, year first, as ever (:func:`mtsar2sar.stack.find_dates`).
"""

from __future__ import annotations

import csv
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from mtsar2sar import stack
from mtsar2sar.errors import InputError

DATE_SOURCES = ("auto", "path", "metadata")

# Dataset tags read for an acquisition date, by name in any case, the first set wins:
# ACQUISITION_START_TIME (generic), ACQUISITION_DATETIME / ACQUISITION_DATE (this project's STAC fields, the
# OPERA stacks of data/), ZERO_DOPPLER_START_TIME (OPERA RTC-S1 GeoTIFFs), SNAP's names when copied to tags.
DATE_TAGS = ("ACQUISITION_START_TIME", "ACQUISITION_DATETIME", "ACQUISITION_DATE", "ZERO_DOPPLER_START_TIME",
             "PRODUCT_SCENE_RASTER_START_TIME", "FIRST_LINE_TIME")
# GDAL's IMAGERY metadata domain (filled by GDAL's SAR drivers), after DATE_TAGS
IMAGERY_TAG = "ACQUISITIONDATETIME"
# BEAM-DIMAP (SNAP): the product's start time, then the abstracted metadata's first line time
DIMAP_DATE_FIELDS = ("PRODUCT_SCENE_RASTER_START_TIME", "first_line_time")
# the time the file was written: the acquisition only for files written then; the last resort
LAST_TAG = "TIFFTAG_DATETIME"
# TIFF tag of the DIMAP XML in SNAP's GeoTIFFs
DIMAP_TIFF_TAG = 65000
# Tags read for the nominal number of looks (the DIMAP metadata's azimuth_looks x range_looks after them)
LOOKS_TAGS = ("LOOKS", "NUMBER_OF_LOOKS", "NOMINAL_LOOKS", "NLOOKS")

# The texts of dates and times in tags: ISO 8601 (OPERA: 2024-01-13T02:08:16.123456Z), SNAP
# (06-JAN-2024 05:50:00.123456), TIFF (2024:01:06 05:50:00), and the keys' own forms.
_TAG_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d", "%Y%m%dT%H%M%S", "%Y%m%d", "%d-%b-%Y %H:%M:%S.%f", "%d-%b-%Y %H:%M:%S", "%d-%b-%Y",
                "%Y:%m:%d %H:%M:%S")
# Directives of date_format and the text they read (for the regex made from a format)
_DIRECTIVES = {"Y": r"\d{4}", "y": r"\d{2}", "m": r"\d{2}", "d": r"\d{2}", "j": r"\d{3}", "H": r"\d{2}",
               "M": r"\d{2}", "S": r"\d{2}", "f": r"\d{1,6}", "b": r"[A-Za-z]{3}", "B": r"[A-Za-z]{3,9}", "%": "%"}
_TIME_DIRECTIVES = ("%H", "%M", "%S", "%I", "%f")


@dataclass(frozen=True)
class Dates:
    """Date key -> file (sorted by key) and date key -> where the date came from."""

    files: dict[str, Path]
    sources: dict[str, str] = field(default_factory=dict)
    # one multi-band file, one band per date: date key -> its band (``files`` then maps every key to that file)
    bands: dict[str, int] = field(default_factory=dict)


def parse_datetime(text: str) -> datetime | None:
    """A date (and time) written as in tags and tables (ISO 8601 with or without dashes, SNAP's
    ``06-JAN-2024 05:50:00.123456``, TIFF's ``2024:01:06 05:50:00``); None when it is none of these."""
    t = text.strip().rstrip("Zz").strip()
    t = re.sub(r"(\.\d{6})\d+$", r"\1", t)  # nanoseconds: microseconds
    t = re.sub(r"[+-]\d{2}:?\d{2}$", "", t) if "T" in t or " " in t else t  # a UTC offset: the time as written
    for fmt in _TAG_FORMATS:
        try:
            return datetime.strptime(t.title() if "%b" in fmt else t, fmt)
        except ValueError:
            continue
    return None


def has_time(text: str) -> bool:
    """Whether a date text carries a time of day."""
    return bool(re.search(r"\d[T ]\d{1,2}:?\d{2}", text.strip()))


def source_kind(source: str) -> str:
    """What kind of source a date's record names: ``file name``, ``path``, ``tag ZERO_DOPPLER_START_TIME``,
    ``DIMAP first_line_time``, or the table's name."""
    m = re.match(r"(file name|path|(?:tag|DIMAP|IMAGERY) \S+)", source)
    return m.group(1) if m else source.split(":")[0]


def key_of(when: datetime, with_time: bool) -> str:
    return when.strftime("%Y%m%dT%H%M%S" if with_time else "%Y%m%d")


def regex_of_format(date_format: str) -> str:
    """The regular expression of the dates written in ``date_format`` (one group, no digit either side):
    ``%d%m%Y`` -> ``(?<!\\d)(\\d{2}\\d{2}\\d{4})(?!\\d)``."""
    out, i = [], 0
    while i < len(date_format):
        c = date_format[i]
        if c == "%":
            d = date_format[i + 1: i + 2]
            if d not in _DIRECTIVES:
                raise InputError(f"date_format: {date_format!r}: the directive %{d} cannot be searched for in a path;"
                                 " give date_regex too (its first group: the text date_format reads)")
            out.append(_DIRECTIVES[d])
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return rf"(?<!\d)({''.join(out)})(?!\d)"


def read_with_format(f: Path, text: str, date_format: str, where: str) -> str:
    """The key of a date ``text`` written in ``date_format``."""
    try:
        when = datetime.strptime(text, date_format)
    except ValueError as exc:
        raise InputError(f"{f}: the {where} gives {text!r}, which is not a date as date_format {date_format!r} ({exc})")\
            from None
    return key_of(when, any(d in date_format for d in _TIME_DIRECTIVES))


def dimap_text(path: Path) -> tuple[str, str] | None:
    """(the BEAM-DIMAP XML SNAP wrote for ``path``, where): the ``.dim`` beside the ``.data`` folder of a
    band (``X.data/Sigma0_VV.img``: ``X.dim``), a ``.dim`` itself, or TIFF tag 65000 of a SNAP GeoTIFF."""
    dim = path if path.suffix.lower() == ".dim" else None
    if dim is None and path.parent.suffix.lower() == ".data":
        dim = path.parent.with_suffix(".dim")
    if dim is not None and dim.is_file():
        try:
            return dim.read_text(errors="replace"), str(dim)
        except OSError:
            return None
    if path.suffix.lower() in (".tif", ".tiff"):
        try:
            import tifffile
        except ImportError:  # pragma: no cover - tifffile comes with scikit-image
            return None
        try:
            with tifffile.TiffFile(path) as tif:
                tag = tif.pages[0].tags.get(DIMAP_TIFF_TAG)  # type: ignore[union-attr]
                value = tag.value if tag is not None else None
        except Exception:  # noqa: BLE001 - not a TIFF tifffile reads: no DIMAP metadata (GDAL names the file)
            return None
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and "<Dimap_Document" in value:
            return value, f"TIFF tag {DIMAP_TIFF_TAG}"
    return None


def dimap_fields(xml: str) -> dict[str, str]:
    """The DIMAP fields read here: the elements of ``Production`` (``PRODUCT_SCENE_RASTER_START_TIME``) and
    the ``MDATTR`` of the abstracted metadata (``first_line_time``, ``azimuth_looks``, ``range_looks``)."""
    try:
        root = ET.fromstring(xml.rstrip("\x00"))
    except ET.ParseError:
        return {}
    out: dict[str, str] = {}
    for el in root.iter():
        if el.tag == "MDATTR" and el.get("name") and (el.text or "").strip():
            out.setdefault(str(el.get("name")), (el.text or "").strip())
        elif el.tag.isupper() and (el.text or "").strip() and len(el) == 0:
            out.setdefault(el.tag, (el.text or "").strip())
    return out


def raster_tags(path: Path) -> dict[str, str]:
    """The dataset tags of a raster (names upper-cased), with the IMAGERY domain's as ``IMAGERY:<name>``."""
    from mtsar2sar.io import open_raster

    with open_raster(path) as ds:
        tags = {str(k).upper(): str(v) for k, v in ds.tags().items()}
        try:
            imagery = ds.tags(ns="IMAGERY")
        except Exception:  # noqa: BLE001 - a driver without that domain
            imagery = {}
    tags.update({f"IMAGERY:{str(k).upper()}": str(v) for k, v in imagery.items()})
    return tags


def metadata_date(path: Path) -> tuple[datetime, str, bool] | None:
    """(acquisition time, where it was read, whether it has a time of day) of a file, from its tags
    (:data:`DATE_TAGS`, ``IMAGERY``), its DIMAP metadata, then ``TIFFTAG_DATETIME``; None when none gives one."""
    try:
        tags = raster_tags(path)
    except InputError:  # not a raster GDAL reads (the check of the stack names it): no tags, maybe DIMAP
        tags = {}
    candidates = [(name, tags.get(name)) for name in DATE_TAGS] + [("IMAGERY " + IMAGERY_TAG,
                                                                    tags.get("IMAGERY:" + IMAGERY_TAG))]
    for name, value in candidates:
        if value and (when := parse_datetime(value)) is not None:
            return when, f"tag {name} = {value.strip()}", has_time(value)
    dimap = dimap_text(path)
    if dimap is not None:
        fields = dimap_fields(dimap[0])
        for name in DIMAP_DATE_FIELDS:
            value = fields.get(name)
            if value and (when := parse_datetime(value)) is not None:
                return when, f"DIMAP {name} = {value} ({dimap[1]})", has_time(value)
    value = tags.get(LAST_TAG)
    if value and (when := parse_datetime(value)) is not None:
        return when, f"tag {LAST_TAG} = {value.strip()} (the time the file was written)", has_time(value)
    return None


def looks_tag(tags: Mapping[str, str]) -> tuple[float, str] | None:
    """(looks, the tag's name) of the first of :data:`LOOKS_TAGS` in ``tags`` (upper-case names) that holds a
    positive finite number; None when none does."""
    for name in LOOKS_TAGS:
        try:
            value = float(tags.get(name, ""))
        except ValueError:
            continue
        if math.isfinite(value) and value > 0:
            return value, name
    return None


def read_looks(path: Path) -> tuple[float, str] | None:
    """(nominal number of looks, where) from a file's tags (:data:`LOOKS_TAGS`) or DIMAP metadata
    (``azimuth_looks`` x ``range_looks``); None when they give none."""
    tags = raster_tags(path)
    found = looks_tag(tags)
    if found is not None:
        return found[0], f"tag {found[1]} = {tags[found[1]]}"
    dimap = dimap_text(path)
    if dimap is not None:
        fields = dimap_fields(dimap[0])
        try:
            az, rg = float(fields["azimuth_looks"]), float(fields["range_looks"])
        except (KeyError, ValueError):
            return None
        if az > 0 and rg > 0:
            return az * rg, f"DIMAP azimuth_looks x range_looks = {az:g} x {rg:g} ({dimap[1]})"
    return None


def table_dates(table: str | Path | Mapping[Any, Any], base: str | Path = ".",
                date_format: str | None = None) -> tuple[dict[Path, tuple[str, str, str]], str]:
    """File (resolved) -> (key, the date as given, its row as written: ``line 3: img_02.tif,2024-01-18`` of
    a CSV, ``s/img_02.tif: 2024-01-18`` of a mapping) of a table: a mapping path -> date (paths relative to
    ``base``) or a CSV file of ``path,date`` rows (a header row is allowed; paths relative to the CSV's
    folder); and the table's name for the record."""
    if isinstance(table, Mapping):
        rows = [(str(k), v, f"{k}: {v}") for k, v in table.items()]
        root, name = Path(base), "dates (config)"
    else:
        csv_path = Path(table) if Path(table).is_absolute() else Path(base) / table
        if not csv_path.is_file():
            raise InputError(f"dates: {table}: no such file (a CSV of path,date rows, or a mapping path: date)")
        try:
            with csv_path.open(newline="") as fh:
                reader = csv.reader(fh)
                rows = [(r[0].strip(), r[1].strip(), f"line {reader.line_num}: {','.join(r)}") for r in reader
                        if r and not r[0].startswith("#") and len(r) >= 2]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"{csv_path}: not a readable CSV of path,date rows ({exc})") from None
        if rows and rows[0][0].lower() in ("path", "file", "filename") and parse_datetime(str(rows[0][1])) is None:
            rows = rows[1:]
        root, name = csv_path.parent, str(table)
    out: dict[Path, tuple[str, str, str]] = {}
    for p, value, row in rows:
        f = Path(p) if Path(p).is_absolute() else root / p
        where = f"table {name}"
        if isinstance(value, datetime):
            key, text = key_of(value, value.time() != datetime.min.time()), value.isoformat()
        elif isinstance(value, date):
            key, text = key_of(datetime(value.year, value.month, value.day), False), value.isoformat()
        else:
            text = str(value).strip()
            if date_format:
                key = read_with_format(f, text, date_format, where)
            else:
                when = parse_datetime(text)
                if when is None:
                    raise InputError(f"{name}: {p}: {text!r} is not a date (write it as 2024-01-06 or"
                                     " 2024-01-06T05:50:00, or declare its order with date_format)")
                key = key_of(when, has_time(text))
        out[f.resolve()] = (key, text, row)
    return out, name


# Candidate orders of dates in names (for the message when none is found)
_CANDIDATES = ("%Y-%m-%d", "%Y_%m_%d", "%Y%m%dT%H%M%S", "%d%m%Y", "%d-%m-%Y", "%d.%m.%Y", "%d_%m_%Y", "%d%b%Y",
               "%d-%b-%Y", "%m%d%Y", "%Y%j")
# The format of a date with its time of day in names (S1_20240106T055012): two passes of one day
TIME_FORMAT = "%Y%m%dT%H%M%S"
_DATE_TIME = re.compile(r"(?<!\d)(\d{8}T\d{6})(?!\d)")
# A regex of an 8-digit date of 19xx or 20xx, not inside a longer number (the date beside an orbit or ID number)
DATED_REGEX = r"(?<!\d)((?:19|20)\d{6})(?!\d)"


def suggested_format(files: list[Path]) -> str | None:
    """A date_format that reads a date in every file name, or None (for the message when none is found)."""
    for fmt in _CANDIDATES:
        regex = re.compile(regex_of_format(fmt))
        keys = set()
        for f in files:
            m = regex.search(f.name)
            if m is None:
                break
            try:
                when = datetime.strptime(m.group(1), fmt)
            except ValueError:
                break
            if not 1950 <= when.year < 2100:
                break
            keys.add(when)
        else:
            if len(keys) == len(files):
                return fmt
    return None


class DateNotFound(InputError):
    """No source (the path, the metadata, a table) gives a file its date: ``mtsar2sar init`` then writes a
    table of placeholders instead of stopping."""


def not_found(f: Path, files: list[Path], date_regex: str, full: str, source: str,
              shown: Path | None = None) -> DateNotFound:
    """The error when no date is found for ``f``: where it was looked for, and a configuration line that
    gives the dates."""
    looked = []
    if source in ("auto", "path"):
        looked.append(stack.nothing_matched(f, date_regex, full))
    if source in ("auto", "metadata"):
        looked.append(f"no date in its metadata (tags {', '.join(DATE_TAGS)}, IMAGERY {IMAGERY_TAG}, SNAP's DIMAP"
                      f" {', '.join(DIMAP_DATE_FIELDS)}, {LAST_TAG})")
    fmt = suggested_format(files)
    if fmt is not None:
        fix = f'date_format: "{fmt}"   (the file names hold dates in that order)'
        if fmt == "%d%m%Y":
            fix += ' (or "%m%d%Y" if the month comes first)'
        fix += f'; on the command line (run INPUTS, init): --date-format "{fmt}"'
    else:
        examples = ", ".join(f'"{os.path.relpath(p, shown) if shown is not None else p}": 2024-01-{6 + 12 * i:02d}'
                             for i, p in enumerate(files[:2]))
        fix = f"dates: {{{examples}, ...}}   (or dates: dates.csv, rows path,date)"
    return DateNotFound(f"{f}: no date found: {'; '.join(looked)}. Give the dates in the AOI's configuration, e.g.\n"
                        f"    {fix}")


def date_rules(date_regex: str | None, date_format: str | None) -> list[tuple[str, str | None]]:
    """The (date_regex, date_format) rule of an AOI's keys: ``date_regex`` None: the regex of
    ``date_format``, else ``(\\d{8})``."""
    regex = date_regex if date_regex is not None else (regex_of_format(date_format) if date_format else r"(\d{8})")
    return [(regex, date_format)]


def path_date(f: Path, rules: list[tuple[re.Pattern[str], str | None]], full: str) -> tuple[str, str] | None:
    """(key, where) of the first rule whose regex matches the file's name or path; None when none does."""
    for regex, date_format in rules:
        found = stack.regex_match(f, regex, full)
        if found is None:
            continue
        text, where = found
        if date_format:
            key = read_with_format(f, text, date_format, f"{where} (date_regex '{regex.pattern}')")
            return key, f"{where}: {text!r} as {date_format!r}"
        try:
            stack.check_key(f, text, regex.pattern)
        except InputError as exc:
            raise InputError(not_a_key(f, text, regex.pattern, where, str(exc))) from None
        return text, f"{where} (date_regex '{regex.pattern}')"
    return None


def not_a_key(f: Path, text: str, date_regex: str, where: str, message: str) -> str:
    """The message on a captured ``text`` that is no date key: where it is an 8-digit number (an orbit, an ID)
    and the name's first 8-digit number of 19xx or 20xx, which :data:`DATED_REGEX` captures, is a date
    yyyymmdd, that date_regex; else ``message`` (the check's)."""
    better = re.search(DATED_REGEX, f.name)
    found = better.group(1) if better is not None else None
    if re.fullmatch(r"\d{8}", text) and found is not None and found != text and parse_datetime(found) is not None:
        return (f"{f}: date_regex '{date_regex}' captures {text!r} in the {where}, which is not a date (yyyymmdd, month"
                f" 01-12, day of that month); the date in the name is {found!r}: capture it, e.g. date_regex:"
                f" '{DATED_REGEX}'")
    return message


def same_day_passes(first: Path, second: Path, key: str) -> str | None:
    """Why two files are keyed by one day ``key`` when their names hold that date at two times of day
    (``S1_20240106T055012``, ``S1_20240106T175012``: two passes of a day): the format that keys them by their
    times, not the pattern's (one polarization); None otherwise."""
    a, b = _DATE_TIME.search(first.name), _DATE_TIME.search(second.name)
    if a and b and a.group(1) != b.group(1) and a.group(1)[:8] == b.group(1)[:8] == key[:8]:
        return (f"{first}, {second}: both dated {key}, the day of their names' {a.group(1)!r} and {b.group(1)!r}:"
                f" two acquisitions of one day; key them by date and time: date_format: \"{TIME_FORMAT}\" (and"
                f" no date_regex, or one that captures the time too: '(\\d{{8}}T\\d{{6}})'); on the command line"
                f" (run INPUTS, init): --date-format \"{TIME_FORMAT}\"")
    return None


def discover(
    pattern: str,
    date_regex: str | None = None,
    date_format: str | None = None,
    date_source: str = "auto",
    table: str | Path | Mapping[Any, Any] | Sequence[Any] | None = None,
    base: str | Path = ".",
    rules: Sequence[tuple[str, str | None]] | None = None,
    split_bands: bool = False,
    key: str = "inputs",
) -> Dates:
    """The dates of the files of ``pattern`` (relative to ``base``; ``key`` its configuration key, in the
    errors), from the path, the metadata or a table (module docstring); errors name the file, where the
    date was looked for and a configuration line that gives it. ``rules``: (date_regex, date_format) pairs tried in order (a layout's), instead of
    :func:`date_rules` of ``date_regex`` and ``date_format``. ``split_bands``: one multi-band file is a band
    per date (:func:`band_dates`; ``table`` then a list of dates in band order)."""
    if date_source not in DATE_SOURCES:
        raise InputError(f"date_source: {date_source!r} is not one of {', '.join(DATE_SOURCES)}")
    files = stack.glob_files(pattern, base, key)
    full = stack.full_pattern(pattern, base)
    count = band_count(files[0]) if split_bands and len(files) == 1 else 0
    if count > 1:  # one multi-band file: a band per date
        if isinstance(table, str | Path | Mapping):
            raise InputError(f"{files[0]}: one file of {count} bands, a band per date: give dates as a list in band"
                             f" order, e.g. dates: {example_dates(count)}")
        return band_dates(files[0], count, date_source, table, date_format,
                          list(rules) if rules is not None else date_rules(date_regex, date_format))
    if isinstance(table, Sequence) and not isinstance(table, str):
        raise InputError(f"dates: a list of dates is for one multi-band file (a band per date); inputs has"
                         f" {len(files)} file(s){'' if len(files) > 1 else ' of one band'}: give a mapping path: date"
                         " or a CSV file of path,date rows")
    if table is not None:
        entries, name = table_dates(table, base, date_format)
        pairs, sources = [], {}
        rows: dict[str, tuple[Path, str]] = {}  # key -> (file, its row)
        for f in files:
            entry = entries.get(f.resolve())
            if entry is None:
                raise InputError(f"{f}: not in the table {name} (its paths: {', '.join(str(p) for p in list(entries)[:3])}"
                                 f"{' ...' if len(entries) > 3 else ''}); give every file of inputs a date there")
            if entry[0] in rows:  # both dates from the table: its rows are at fault, not the pattern
                raise InputError(f"{name}: rows {rows[entry[0]][1]!r} and {entry[2]!r} give {rows[entry[0]][0]} and {f}"
                                 f" the same date {entry[0]}; each date needs one file: correct the table")
            rows[entry[0]] = f, entry[2]
            pairs.append((entry[0], f))
            sources[entry[0]] = f"{name}: {entry[1]}"
        return Dates(stack.check_dates(pairs), sources)
    given = list(rules) if rules is not None else date_rules(date_regex, date_format)
    compiled = [(stack.compile_date_regex(regex), fmt) for regex, fmt in given]
    regex_text = " or ".join(r for r, _ in given)
    from_path: dict[Path, tuple[str, str]] = {}
    tagged: dict[Path, tuple[datetime, str, bool]] = {}
    for f in files:
        found = path_date(f, compiled, full) if date_source in ("auto", "path") else None
        if found is None and date_source in ("auto", "metadata"):
            found = snap_band_date(f)  # a band of a co-registered stack: its date, not the product's
        if found is not None:
            from_path[f] = found
            continue
        got = metadata_date(f) if date_source in ("auto", "metadata") else None
        if got is None:
            raise not_found(f, files, regex_text, full, date_source, None if Path(pattern).is_absolute() else Path(base))
        tagged[f] = got
    # metadata dates keyed by day; with their times where two fall on one day (two passes of a day)
    days = [when.date() for when, _, _ in tagged.values()]
    with_time = len(set(days)) < len(days) and all(t for _, _, t in tagged.values())
    keyed = {f: (key_of(when, with_time), source) for f, (when, source, _) in tagged.items()} | from_path
    explain_shared_keys(files, keyed)
    pairs = [(keyed[f][0], f) for f in files]
    return Dates(stack.check_dates(pairs), {keyed[f][0]: keyed[f][1] for f in files})


def explain_shared_keys(files: Sequence[Path], keyed: Mapping[Path, tuple[str, str]]) -> None:
    """Two files of one date key, where the cause is known: an error saying it, before the check of the keys
    (:func:`mtsar2sar.stack.check_dates`) names the pattern (one polarization)."""
    seen: dict[str, Path] = {}
    for f in files:
        key = keyed[f][0]
        if key in seen:
            why = shared_metadata_date(seen[key], f, keyed) or same_day_passes(seen[key], f, key)
            if why is not None:
                raise InputError(why)
        seen.setdefault(key, f)


def shared_metadata_date(first: Path, second: Path, keyed: Mapping[Path, tuple[str, str]]) -> str | None:
    """Why two files are dated alike when one record of the same metadata dates both (the ``.dim`` of a
    co-registered stack gives every band the product's time, its master's); None otherwise."""
    key, source = keyed[second]
    if keyed[first][1] == source and source_kind(source).startswith(("DIMAP", "tag", "IMAGERY")):
        return (f"{first}, {second}: both dated {key} by the same metadata ({source}): the time of the product they"
                " belong to (of a co-registered stack: its master's), not each file's; give each file its date:"
                " date_format (e.g. \"%d%b%Y\" for SNAP's band names Sigma0_VV_slv1_18Jan2024), or dates (a table)")
    return None


# SNAP's date in the name of a co-registered stack's band (Sigma0_VV_mst_06Jan2024.img, ..._slv1_18Jan2024.img)
SNAP_BAND_DATE = re.compile(r"_(\d{2}[A-Z][a-z]{2}\d{4})(?![0-9])")


def snap_band_date(f: Path) -> tuple[str, str] | None:
    """(key, where) of a band of a SNAP product (``<product>.data/<band>.img``) whose name carries SNAP's date
    (``Sigma0_VV_slv1_18Jan2024``): the band's own date, which wins over the ``.dim``'s product-level time (a
    co-registered stack's master's, the same for every band); None for another file or name."""
    if f.parent.suffix.lower() != ".data":
        return None
    match = SNAP_BAND_DATE.search(f.stem)
    if match is None:
        return None
    try:
        when = datetime.strptime(match.group(1), "%d%b%Y")
    except ValueError:
        return None
    return key_of(when, False), f"file name: {match.group(1)!r} as '%d%b%Y' (SNAP's date of the band)"


# --- one multi-band file: a band per date ---

# Dates in band descriptions, after the AOI's own rules: SNAP's stack bands (Sigma0_VV_slv1_18Jan2024), an ISO date
# (with or without a time), yyyymmdd (with or without a time)
BAND_RULES: tuple[tuple[str, str | None], ...] = (
    (r"(?<![A-Za-z0-9])(\d{2}[A-Z][a-z]{2}\d{4})(?!\d)", "%d%b%Y"),
    (r"(?<!\d)(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:?\d{2}:?\d{2})?)(?!\d)", None),
    (r"(?<!\d)(\d{8}(?:T\d{6})?)(?!\d)", None),
)
# Polarizations in band descriptions (for the message on two bands of one date)
_POLARIZATION = re.compile(r"(?<![A-Za-z])(VV|VH|HH|HV)(?![A-Za-z])")


def band_count(path: Path) -> int:
    """The number of bands of a raster GDAL reads; 0 when it reads none there (the checks name the file)."""
    from mtsar2sar.io import open_raster

    try:
        with open_raster(path) as ds:
            return int(ds.count)
    except InputError:
        return 0


def dimap_band_names(path: Path) -> tuple[dict[int, str], str]:
    """Band (1-based) -> its name in SNAP's DIMAP metadata of ``path`` (``Spectral_Band_Info``), and where."""
    dimap = dimap_text(path)
    if dimap is None:
        return {}, ""
    try:
        root = ET.fromstring(dimap[0].rstrip("\x00"))
    except ET.ParseError:
        return {}, ""
    out = {}
    for info in root.iter("Spectral_Band_Info"):
        index, name = info.findtext("BAND_INDEX"), info.findtext("BAND_NAME")
        if index is not None and index.strip().isdigit() and name:
            out[int(index) + 1] = name.strip()
    return out, dimap[1]


def text_date(text: str, rules: Sequence[tuple[re.Pattern[str], str | None]]) -> tuple[datetime, bool] | None:
    """(date, whether it has a time) of the first rule whose regex finds a date in ``text`` (a band's name)."""
    for regex, date_format in rules:
        match = regex.search(text)
        if match is None:
            continue
        found = next((g for g in match.groups() if g), None)
        if found is None:
            continue
        if date_format:
            try:
                return datetime.strptime(found, date_format), any(d in date_format for d in _TIME_DIRECTIVES)
            except ValueError:
                continue
        when = parse_datetime(found)
        if when is not None:
            return when, has_time(found) or "T" in found
    return None


def example_dates(n: int) -> str:
    """``[2024-01-06, 2024-01-18, ...]``: a list of ``n`` dates in band order (for messages)."""
    shown = [(date(2024, 1, 6) + timedelta(days=12 * i)).isoformat() for i in range(min(n, 3))]
    return f"[{', '.join(shown)}{', ...' if n > 3 else ''}]"


def listed_dates(f: Path, table: Sequence[Any], count: int, date_format: str | None) -> list[tuple[str, str]]:
    """(key, the date as given) of each band, from ``dates`` given as a list in band order."""
    if len(table) != count:
        raise InputError(f"{f}: dates: the list has {len(table)} dates but the file has {count} bands (one date per"
                         f" band, in band order, e.g. dates: {example_dates(count)})")
    out = []
    for value in table:
        if isinstance(value, datetime):
            out.append((key_of(value, value.time() != datetime.min.time()), value.isoformat()))
        elif isinstance(value, date):
            out.append((key_of(datetime(value.year, value.month, value.day), False), value.isoformat()))
        else:
            text = str(value).strip()
            if date_format:
                out.append((read_with_format(f, text, date_format, "dates list"), text))
                continue
            when = parse_datetime(text)
            if when is None:
                raise InputError(f"dates: {text!r} is not a date (write it as 2024-01-06 or 2024-01-06T05:50:00, or"
                                 " declare its order with date_format)")
            out.append((key_of(when, has_time(text)), text))
    return out


def band_dates(f: Path, count: int, date_source: str = "auto", table: Sequence[Any] | None = None,
               date_format: str | None = None, rules: Sequence[tuple[str, str | None]] = ()) -> Dates:
    """The dates of the ``count`` bands of one file, a band per date: from ``table`` (a list of dates in band
    order), else each band's description (``rules``, then :data:`BAND_RULES`), its band-level tags
    (:data:`DATE_TAGS`), or its name in SNAP's DIMAP metadata (``date_source``: ``path`` the names only,
    ``metadata`` the tags only). An error names the band without a date and gives the ``dates`` line."""
    from mtsar2sar.io import open_raster

    keyed: dict[int, tuple[str, str]] = {}
    if table is not None:
        for b, (key, text) in enumerate(listed_dates(f, table, count, date_format), start=1):
            keyed[b] = key, f"band {b}: dates (config) {text}"
    else:
        compiled = [(stack.compile_date_regex(r), fmt) for r, fmt in (*rules, *BAND_RULES)]
        with open_raster(f) as ds:
            descriptions = [d or "" for d in ds.descriptions]
            band_tags = [{str(k).upper(): str(v) for k, v in ds.tags(b).items()} for b in range(1, count + 1)]
        dimap, dimap_where = dimap_band_names(f) if date_source in ("auto", "path") else ({}, "")
        tagged: dict[int, tuple[datetime, str, bool]] = {}
        from_tags: set[int] = set()
        for b in range(1, count + 1):
            got: tuple[datetime, str, bool] | None = None
            names = [(descriptions[b - 1], "description", "")] + ([(dimap[b], "DIMAP BAND_NAME", f" ({dimap_where})")]
                                                                   if b in dimap else [])
            if date_source in ("auto", "path"):
                for text, where, whose in names:
                    found = text_date(text, compiled) if text else None
                    if found is not None:
                        got = found[0], f"band {b} {where} {text!r}{whose}", found[1]
                        break
            if got is None and date_source in ("auto", "metadata"):
                value = next(((n, band_tags[b - 1][n]) for n in DATE_TAGS if band_tags[b - 1].get(n)
                              and parse_datetime(band_tags[b - 1][n]) is not None), None)
                if value is not None:
                    when = parse_datetime(value[1])
                    assert when is not None
                    got = when, f"band {b} tag {value[0]} = {value[1].strip()}", has_time(value[1])
                    from_tags.add(b)
            if got is None:
                looked = []
                if date_source in ("auto", "path"):
                    looked.append(f"its description {descriptions[b - 1]!r} holds no date" if descriptions[b - 1]
                                  else "it has no description")
                if date_source in ("auto", "metadata"):
                    looked.append(f"its tags hold no date ({', '.join(DATE_TAGS)})")
                raise DateNotFound(
                    f"{f}: one file of {count} bands, read as a band per date, but band {b} has no date:"
                    f" {'; '.join(looked)}. Give the bands' dates in band order in the AOI's configuration, e.g.\n"
                    f"    dates: {example_dates(count)}   ({count} dates)\n"
                    "  (or, for one band of each of several files, band: N)")
            tagged[b] = got
        # a name's date keyed as written (with its time when it has one); the tags' by day, with their times where
        # two fall on one day and every date has its time (two passes)
        days = [tagged[b][0].date() for b in from_tags]
        with_time = len(set(days)) < len(days) and all(tagged[b][2] for b in from_tags)
        keyed = {b: (key_of(when, with_time if b in from_tags else t), where) for b, (when, where, t) in tagged.items()}
    seen: dict[str, int] = {}
    for b, (key, where) in keyed.items():
        if key in seen:
            a = seen[key]
            fix = ""
            pols = [_POLARIZATION.search(keyed[x][1]) for x in (a, b)]
            if all(pols) and pols[0] and pols[1] and pols[0].group(1) != pols[1].group(1):
                pol = pols[0].group(1)
                same = [x for x in keyed if (m := _POLARIZATION.search(keyed[x][1])) and m.group(1) == pol]
                fix = (f"; a stack is one polarization: make a file of the {pol} bands, e.g. gdal_translate -of VRT"
                       f" {' '.join(f'-b {x}' for x in same)} {f.name} {f.stem}_{pol}.vrt")
            raise InputError(f"{f}: bands {a} and {b} both have the date {key} ({keyed[a][1]}; {where}): one band"
                             f" per date{fix}")
        seen[key] = b
    stack.check_dates([(key, f) for key, _ in keyed.values()], same_file=True)
    order = sorted(keyed, key=lambda b: keyed[b][0])
    return Dates({keyed[b][0]: f for b in order}, {keyed[b][0]: keyed[b][1] for b in order},
                 {keyed[b][0]: b for b in order})
