"""Finding the dates of a stack: a glob of files and a regular expression giving each file's date key.

The regular expression is searched in the file name, then in the file's path below the pattern's first
wildcard folder (``snap/*.data/Sigma0_VV.img``: in ``S1A_..._20240106T055000_....data/Sigma0_VV.img``).
Other sources of dates (a declared format, the files' tags, a table) are :mod:`mtsar2sar.dates`.
"""

from __future__ import annotations

import datetime
import glob
import re
from collections.abc import Iterable
from pathlib import Path

from mtsar2sar.errors import InputError

# The characters of a date key: it names the per-date files and is passed to shell commands.
SAFE_KEY = re.compile(r"[A-Za-z0-9_.+-]+")
# A date key starts with its date, year first: sorted as text, the keys are then in time order.
LEADING_DATE = re.compile(r"(\d{4})(-?)(\d{2})\2(\d{2})")
GLOB_MAGIC = re.compile(r"[*?[]")


def leading_date_separator(key: str) -> str | None:
    """The separator of the valid date a key starts with (``20240106``, ``20240106T052812``,
    ``20240106_VV``: ``""``; ``2024-01-06``: ``"-"``), or None when it does not start with one."""
    match = LEADING_DATE.match(key)
    if match is None:
        return None
    try:
        datetime.date(int(match.group(1)), int(match.group(3)), int(match.group(4)))
    except ValueError:
        return None
    return match.group(2)


def full_pattern(pattern: str, base: str | Path = ".") -> str:
    """The pattern as globbed: relative patterns are taken relative to ``base``."""
    return pattern if Path(pattern).is_absolute() else str(Path(base) / pattern)


def glob_files(pattern: str, base: str | Path = ".", key: str = "inputs") -> list[Path]:
    """The files a glob pattern matches, sorted; an error naming the pattern (the configuration's ``key``)
    when it is a folder or matches no file, naming the folder when it matches a folder among its files
    (``S1_20240223.tif/``: skipped, its date would be missing from the stack without a word)."""
    full = full_pattern(pattern, base)
    if Path(full).is_dir():
        raise InputError(
            f"{key}: {pattern!r} is a folder; give a pattern of its files, e.g. {str(Path(pattern) / '*.tif')!r}"
        )
    matches = sorted(Path(p) for p in glob.glob(full))
    files = [p for p in matches if not p.is_dir()]
    if not files:
        folders = f" (only folders: {', '.join(str(p) for p in matches[:3])})" if matches else ""
        raise InputError(f"{key}: the pattern {pattern!r} matches no file (looked for {full!r}){folders}")
    folder = next((p for p in matches if p.is_dir()), None)
    if folder is not None:
        raise InputError(f"{folder}: matched by the {key} pattern {pattern!r} but is a folder, not a raster; remove"
                         f" it or narrow the {key} pattern")
    return files


def varying_path(full: str, f: Path) -> str | None:
    """The part of ``f``'s path from the pattern's first folder with a wildcard (``S1A_x.data/Sigma0_VV.img``
    for ``snap/*.data/Sigma0_VV.img``), or None when only the file name varies."""
    parts = Path(full).parts
    first = next((i for i, p in enumerate(parts) if GLOB_MAGIC.search(p)), len(parts) - 1)
    if first >= len(parts) - 1 or len(f.parts) != len(parts):
        return None
    return "/".join(f.parts[first:])


def compile_date_regex(date_regex: str) -> re.Pattern[str]:
    try:
        regex = re.compile(date_regex)
    except re.error as exc:
        raise InputError(f"date_regex: '{date_regex}' is not a valid regular expression ({exc})") from exc
    if regex.groups < 1:
        raise InputError(f"date_regex: '{date_regex}' has no group; its first group must capture the date key")
    return regex


def regex_match(f: Path, regex: re.Pattern[str], full: str) -> tuple[str, str] | None:
    """(the text captured by the first group of ``regex`` that takes part in its match, where: ``file name``
    or ``path '...'``), searched in the file name, then in its path below the pattern's first wildcard
    folder; None when it matches in neither."""
    rel = varying_path(full, f)
    for text, where in ((f.name, "file name"), *(((rel, f"path {rel!r}"),) if rel else ())):
        match = regex.search(text)
        if match is None:
            continue
        # the first group that took part in the match (alternatives: '_(\\d{8})_|-(\\d{8})\\.')
        key = next((g for g in match.groups() if g is not None), None)
        if not key:
            raise InputError(
                f"{f}: date_regex '{regex.pattern}' matches {match.group(0)!r} in the {where} but none of its groups"
                " captured a date key"
            )
        return key, where
    return None


def nothing_matched(f: Path, date_regex: str, full: str) -> str:
    """Where the date regex was searched in ``f`` (for a message)."""
    rel = varying_path(full, f)
    return f"date_regex '{date_regex}' matches nothing in the file name" + (f" nor in its path {rel!r}" if rel else "")


def check_key(f: Path, key: str, date_regex: str) -> str:
    """A captured key as a date key: safe characters, starting with a calendar date year first; returns the
    separator of its date (``""`` or ``"-"``)."""
    if not SAFE_KEY.fullmatch(key):
        raise InputError(
            f"{f}: date_regex '{date_regex}' captures the date key {key!r}, which has characters other than letters,"
            " digits, '-', '_', '.' and '+' (it names files and shell arguments); capture the date alone,"
            r" e.g. '_(\d{8})', or declare its format (date_format)"
        )
    separator = leading_date_separator(key)
    shaped = LEADING_DATE.match(key)
    day_first = re.match(r"\d{2}-?\d{2}-?(19|2[01])\d{2}", key)  # 20012024: 20 January 2024, not year 2001
    if separator is None and shaped and 1900 <= int(shaped.group(1)) < 2200 and not day_first:
        raise InputError(
            f"{f}: date_regex '{date_regex}' captures the date key {key!r}, which starts with {shaped.group(0)!r}:"
            " no calendar date (year, month 01-12, day of that month); check the file name or date_regex"
        )
    if separator is None:
        hint = ' (day first: date_format: "%d%m%Y" reads it as a date)' if day_first else ""
        raise InputError(
            f"{f}: date_regex '{date_regex}' captures the date key {key!r}, which does not start with a date as"
            " yyyymmdd or yyyy-mm-dd; the keys put the dates in time order (the reference period, the STAC items):"
            rf" capture the date year first, e.g. '_(\d{{8}})', or declare the order of its date with date_format{hint}"
        )
    return separator


def check_dates(pairs: Iterable[tuple[str, Path]], same_file: bool = False) -> dict[str, Path]:
    """Date key -> file, sorted by key: each key once, each file once (a link gives one file two names, a
    broken link cannot be read; ``same_file``: one file for every date, a band each), and one format of the
    leading date for all keys."""
    dates: dict[str, Path] = {}
    separators: dict[str, str] = {}  # of the leading date: one format for all, or text order is not time order
    same: dict[tuple[int, int], Path] = {}  # (device, inode): a link gives one file two names
    for key, f in pairs:
        if key in dates:
            raise InputError(f"{f}: date key {key!r} is also the key of {dates[key]}; each date needs one file"
                             " (narrow the inputs pattern to one file per date, e.g. one polarization)")
        try:
            st = f.stat()
        except OSError as exc:
            raise InputError(f"{f}: cannot be read ({exc.strerror}): a broken link, or a file removed meanwhile?") from exc
        if (st.st_dev, st.st_ino) in same and not same_file:
            raise InputError(f"{f}: the same file as {same[st.st_dev, st.st_ino]} (a link): each date needs its own file")
        same[st.st_dev, st.st_ino] = f
        dates[key] = f
        separators[key] = leading_date_separator(key) or ""
    if len(set(separators.values())) > 1:  # 2024-12-31 would sort before 20240101
        a = next(k for k in dates if separators[k] == "-")
        b = next(k for k in dates if separators[k] == "")
        raise InputError(f"{dates[a]}, {dates[b]}: date keys {a!r} and {b!r} write their dates in two formats (with and"
                         " without dashes); as text they would not sort in time order: give the files one format")
    return dict(sorted(dates.items()))


def find_dates(pattern: str, date_regex: str, base: str | Path = ".") -> dict[str, Path]:
    """Map each date key (the first group of ``date_regex`` that takes part in the match, in the file
    name, else in the file's path below the pattern's first wildcard folder) to its file, sorted by key.

    Relative patterns are taken relative to ``base``. Errors name the pattern or the files at fault.
    """
    files = glob_files(pattern, base)
    full = full_pattern(pattern, base)
    regex = compile_date_regex(date_regex)
    pairs = []
    for f in files:
        found = regex_match(f, regex, full)
        if found is None:
            raise InputError(f"{f}: {nothing_matched(f, date_regex, full)}")
        check_key(f, found[0], date_regex)
        pairs.append((found[0], f))
    return check_dates(pairs)
