"""Finding the dates of a stack: a glob of files and a regular expression giving each file's date key."""

from __future__ import annotations

import datetime
import glob
import re
from pathlib import Path

from mtsar2sar.errors import InputError

# The characters of a date key: it names the per-date files and is passed to shell commands.
SAFE_KEY = re.compile(r"[A-Za-z0-9_.+-]+")
# A date key starts with its date, year first: sorted as text, the keys are then in time order.
LEADING_DATE = re.compile(r"(\d{4})(-?)(\d{2})\2(\d{2})")


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


def find_dates(pattern: str, date_regex: str, base: str | Path = ".") -> dict[str, Path]:
    """Map each date key (the first group of ``date_regex`` that takes part in the match, in the file
    name) to its file, sorted by key.

    Relative patterns are taken relative to ``base``. Errors name the pattern or the files at fault.
    """
    full = pattern if Path(pattern).is_absolute() else str(Path(base) / pattern)
    if Path(full).is_dir():
        raise InputError(
            f"inputs: {pattern!r} is a folder; give a pattern of its files, e.g. {str(Path(pattern) / '*.tif')!r}"
        )
    matches = sorted(Path(p) for p in glob.glob(full))
    files = [p for p in matches if not p.is_dir()]
    if not files:
        folders = f" (only folders: {', '.join(str(p) for p in matches[:3])})" if matches else ""
        raise InputError(f"inputs: the pattern {pattern!r} matches no file (looked for {full!r}){folders}")
    try:
        regex = re.compile(date_regex)
    except re.error as exc:
        raise InputError(f"date_regex: {date_regex!r} is not a valid regular expression ({exc})") from exc
    if regex.groups < 1:
        raise InputError(f"date_regex: {date_regex!r} has no group; its first group must capture the date key")
    dates: dict[str, Path] = {}
    separators: dict[str, str] = {}  # of the leading date: one format for all, or text order is not time order
    same: dict[tuple[int, int], Path] = {}  # (device, inode): a link gives one file two names
    for f in files:
        match = regex.search(f.name)
        if match is None:
            raise InputError(f"{f}: date_regex {date_regex!r} matches nothing in the file name")
        # the first group that took part in the match (alternatives: '_(\\d{8})_|-(\\d{8})\\.')
        key = next((g for g in match.groups() if g is not None), None)
        if not key:
            raise InputError(
                f"{f}: date_regex {date_regex!r} matches {match.group(0)!r} in the file name but none of its groups"
                " captured a date key"
            )
        if not SAFE_KEY.fullmatch(key):
            raise InputError(
                f"{f}: date_regex {date_regex!r} captures the date key {key!r}, which has characters other than letters,"
                " digits, '-', '_', '.' and '+' (it names files and shell arguments); capture the date alone,"
                r" e.g. '_(\d{8})'"
            )
        separator = leading_date_separator(key)
        shaped = LEADING_DATE.match(key)
        day_first = re.match(r"\d{2}-?\d{2}-?(19|2[01])\d{2}", key)  # 20012024: 20 January 2024, not year 2001
        if separator is None and shaped and 1900 <= int(shaped.group(1)) < 2200 and not day_first:
            raise InputError(
                f"{f}: date_regex {date_regex!r} captures the date key {key!r}, which starts with {shaped.group(0)!r}:"
                " no calendar date (year, month 01-12, day of that month); check the file name or date_regex"
            )
        if separator is None:
            raise InputError(
                f"{f}: date_regex {date_regex!r} captures the date key {key!r}, which does not start with a date as"
                " yyyymmdd or yyyy-mm-dd; the keys put the dates in time order (the reference period, the STAC items):"
                r" capture the date year first, e.g. '_(\d{8})'"
            )
        if key in dates:
            raise InputError(f"{f}: date key {key!r} is also the key of {dates[key]}; each date needs one file")
        try:
            st = f.stat()
        except OSError as exc:
            raise InputError(f"{f}: cannot be read ({exc.strerror}): a broken link, or a file removed meanwhile?") from exc
        if (st.st_dev, st.st_ino) in same:
            raise InputError(f"{f}: the same file as {same[st.st_dev, st.st_ino]} (a link): each date needs its own file")
        same[st.st_dev, st.st_ino] = f
        dates[key] = f
        separators[key] = separator
    if len(set(separators.values())) > 1:  # 2024-12-31 would sort before 20240101
        a = next(k for k in dates if separators[k] == "-")
        b = next(k for k in dates if separators[k] == "")
        raise InputError(f"{dates[a]}, {dates[b]}: date keys {a!r} and {b!r} write their dates in two formats (with and"
                         " without dashes); as text they would not sort in time order: give the files one format")
    return dict(sorted(dates.items()))
