"""Finding the dates of a stack: a glob of files and a regular expression giving each file's date key."""

from __future__ import annotations

import glob
import re
from pathlib import Path

from mtsar2sar.errors import InputError


def find_dates(pattern: str, date_regex: str, base: str | Path = ".") -> dict[str, Path]:
    """Map each date key (first group of ``date_regex`` in the file name) to its file, sorted by key.

    Relative patterns are taken relative to ``base``. Errors name the pattern or the files at fault.
    """
    full = pattern if Path(pattern).is_absolute() else str(Path(base) / pattern)
    files = sorted(Path(p) for p in glob.glob(full))
    if not files:
        raise InputError(f"inputs: the pattern {pattern!r} matches no file (looked for {full!r})")
    try:
        regex = re.compile(date_regex)
    except re.error as exc:
        raise InputError(f"date_regex: {date_regex!r} is not a valid regular expression ({exc})") from exc
    if regex.groups < 1:
        raise InputError(f"date_regex: {date_regex!r} has no group; its first group must capture the date key")
    dates: dict[str, Path] = {}
    for f in files:
        match = regex.search(f.name)
        if match is None:
            raise InputError(f"{f}: date_regex {date_regex!r} matches nothing in the file name")
        key = match.group(1)
        if key in dates:
            raise InputError(f"{f}: date key {key!r} is also the key of {dates[key]}; each date needs one file")
        dates[key] = f
    return dict(sorted(dates.items()))
