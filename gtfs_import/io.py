"""Reading GTFS feeds and saving/loading timetables: the only module that touches files.

Feeds come as a zip archive or a folder. Publishers often zip a folder rather than its
content, and archives made on macOS carry ``__MACOSX/`` resource forks: both are handled
by locating the folder that holds ``stops.txt`` and ignoring hidden and ``__MACOSX``
entries.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

import gtfs_kit
import gtfs_kit.cleaners
import gtfs_kit.constants
import numpy as np
import pandas as pd

from gtfs_import.errors import FeedError, TimetableError
from gtfs_import.schema import REQUIRED_TABLES, TIMETABLE_FORMAT_VERSION
from gtfs_import.timetable import Timetable, check_timetable

_CSV_OPTIONS = {
    "na_values": ["", " ", "nan", "NaN", "null"],
    "keep_default_na": True,
    "dtype_backend": "numpy_nullable",
    "encoding": "utf-8-sig",  # drops a byte-order mark
}


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p == "__MACOSX" or p.startswith(".") for p in parts)


def _locate_tables(names: list[str], source: str) -> dict[str, str]:
    """Map table name -> member name, from the folder of the archive that holds stops.txt."""
    txt = [n for n in names if n.lower().endswith(".txt") and not _is_junk(n)]
    folders = {str(PurePosixPath(n).parent) for n in txt if PurePosixPath(n).name == "stops.txt"}
    if len(folders) > 1:
        raise FeedError(
            f"{source}: several folders hold a stops.txt ({', '.join(sorted(folders))}); "
            "give one feed per archive"
        )
    if folders:
        folder = folders.pop()
    else:
        # No stops.txt: use the shallowest folder holding .txt files, so that the error
        # below names every missing table.
        depths = sorted(txt, key=lambda n: len(PurePosixPath(n).parts))
        folder = str(PurePosixPath(depths[0]).parent) if depths else "."
    tables: dict[str, str] = {}
    for n in txt:
        p = PurePosixPath(n)
        if str(p.parent) == folder and p.stem in gtfs_kit.constants.DTYPES:
            tables[p.stem] = n
    return tables


#: Columns gtfs-kit does not type but that are ids (read as text, so "012" stays "012").
_EXTRA_DTYPES = {
    "transfers": {
        "from_route_id": "string",
        "to_route_id": "string",
        "from_trip_id": "string",
        "to_trip_id": "string",
        "min_transfer_time": "Int32",
    },
}


def _read_table(table: str, handle: IO[bytes], where: str) -> pd.DataFrame | None:
    dtypes = {**gtfs_kit.constants.DTYPES[table], **_EXTRA_DTYPES.get(table, {})}
    try:
        df = pd.read_csv(handle, dtype=dtypes, **_CSV_OPTIONS)
    except pd.errors.EmptyDataError:
        return None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise FeedError(f"{where}: corrupt or truncated data ({exc})") from exc
    except (ValueError, pd.errors.ParserError) as exc:
        raise FeedError(f"{where}: cannot be parsed as a GTFS table ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise FeedError(f"{where}: not UTF-8 text ({exc})") from exc
    if df.empty:
        return None
    return gtfs_kit.cleaners.clean_column_names(df)


@contextmanager
def _open_members(path: Path) -> Iterator[tuple[dict[str, str], zipfile.ZipFile | None]]:
    if path.is_dir():
        names = [str(p.relative_to(path).as_posix()) for p in path.rglob("*.txt")]
        yield _locate_tables(names, str(path)), None
        return
    if not zipfile.is_zipfile(path):
        raise FeedError(f"{path}: not a zip archive (nor a folder) — is the download complete?")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FeedError(f"{path}: corrupt or truncated zip archive ({exc})") from exc
    with zf:
        yield _locate_tables(zf.namelist(), str(path)), zf


def read_feed(path: str | Path, dist_units: str = "km") -> gtfs_kit.Feed:
    """Read a GTFS feed from a zip archive or a folder.

    Parameters
    ----------
    path
        A ``.zip`` archive or a folder. The GTFS files may sit at the top or inside one
        sub-folder; ``__MACOSX/`` and hidden files are ignored.
    dist_units
        Distance units of ``shape_dist_traveled`` (gtfs-kit's ``dist_units``).

    Returns
    -------
    gtfs_kit.Feed
        The feed, tables typed with gtfs-kit's dtypes (nullable ``string`` / ``Int32``).
        Row ``i`` of a table is line ``i + 2`` of its file, which
        :func:`validate_feed` uses to point at problems.

    Raises
    ------
    FeedError
        If the path is missing, not a zip or folder, the archive is truncated or corrupt,
        a table cannot be parsed, or one of ``stops.txt``, ``stop_times.txt``,
        ``trips.txt``, ``routes.txt`` is missing or empty.
    """
    path = Path(path)
    if not path.exists():
        raise FeedError(f"{path}: no such file or folder")
    tables: dict[str, pd.DataFrame | None] = {t: None for t in gtfs_kit.constants.DTYPES}
    with _open_members(path) as (members, zf):
        for table, member in members.items():
            where = f"{path}: {member}"
            if zf is None:
                with open(path / member, "rb") as handle:
                    tables[table] = _read_table(table, handle, where)
            else:
                try:
                    raw = zf.read(member)  # reads and checks the CRC in one go
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                    raise FeedError(f"{where}: corrupt or truncated data ({exc})") from exc
                tables[table] = _read_table(table, io.BytesIO(raw), where)
    missing = [f"{t}.txt" for t in REQUIRED_TABLES if tables[t] is None]
    if missing:
        raise FeedError(f"{path}: missing or empty required file(s): {', '.join(missing)}")
    if tables["calendar"] is None and tables["calendar_dates"] is None:
        raise FeedError(f"{path}: neither calendar.txt nor calendar_dates.txt (no service days)")
    return gtfs_kit.Feed(dist_units=dist_units, **tables)


def save_timetable(tt: Timetable, path: str | Path) -> None:
    """Save a timetable as a compressed ``.npz`` file with its format version.

    Parameters
    ----------
    tt
        The timetable, as built by :func:`gtfs_import.build_timetable`.
    path
        Destination file; ``.npz`` is appended by numpy if missing.
    """
    arrays = {name: np.asarray(value) for name, value in tt._asdict().items()}
    arrays["format_version"] = np.asarray(TIMETABLE_FORMAT_VERSION, dtype=np.int32)
    np.savez_compressed(Path(path), allow_pickle=False, **arrays)


def load_timetable(path: str | Path) -> Timetable:
    """Load a timetable saved by :func:`save_timetable` and check its invariants.

    Raises
    ------
    TimetableError
        If the file is not a timetable, was written with another format version, or fails
        :func:`gtfs_import.check_timetable`.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            version = int(data["format_version"]) if "format_version" in data else None
            if version != TIMETABLE_FORMAT_VERSION:
                raise TimetableError(
                    f"{path}: timetable format version {version}, expected "
                    f"{TIMETABLE_FORMAT_VERSION}; rebuild it with build_timetable"
                )
            missing = [f for f in Timetable._fields if f not in data]
            if missing:
                raise TimetableError(f"{path}: missing arrays {missing}")
            fields = {f: data[f] for f in Timetable._fields}
    except TimetableError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise TimetableError(f"{path}: cannot read timetable ({exc})") from exc
    scalars = {f: fields[f].item() for f in Timetable.scalar_fields()}
    fields.update(scalars)
    tt = Timetable(**fields)
    check_timetable(tt)
    return tt
