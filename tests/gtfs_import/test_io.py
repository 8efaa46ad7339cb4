"""Reading feeds (zip, folder, sub-folder, broken archives) and saving timetables."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

import gtfs_import
from gtfs_import import FeedError, TimetableError
from tests.conftest import shared_file
from tests.gtfs_import.conftest import DATE, K1, TER_2019


def rewrite_zip(src: Path, dst: Path, drop: set[str] = frozenset(), prefix: str = "") -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if Path(info.filename).name not in drop:
                zout.writestr(prefix + info.filename, zin.read(info.filename))
    return dst


def test_read_zip(k1_feed):
    assert len(k1_feed.stops) == 42
    assert k1_feed.calendar is None and len(k1_feed.calendar_dates) > 0
    assert k1_feed.stop_times["stop_id"].str.contains("-87613000").any()


def test_read_folder_equals_zip(tmp_path, k1_feed):
    with zipfile.ZipFile(shared_file(K1)) as zf:
        zf.extractall(tmp_path / "k1")
    feed = gtfs_import.read_feed(tmp_path / "k1")
    assert feed.stop_times.equals(k1_feed.stop_times)
    assert feed.trips.equals(k1_feed.trips)


def test_read_zip_with_sub_folder_and_macos_junk(feed_2019):
    # The 2019 archive holds export-ter-gtfs-last/*.txt and __MACOSX/._*.txt resource forks.
    assert len(feed_2019.stops) > 9000
    assert feed_2019.calendar is not None and feed_2019.calendar_dates is not None
    assert not feed_2019.stops["stop_id"].str.startswith("\x00").any()


def test_sub_folder_is_found_in_a_rewritten_archive(tmp_path, k1_feed):
    path = rewrite_zip(shared_file(K1), tmp_path / "nested.zip", prefix="gtfs/")
    assert gtfs_import.read_feed(path).stop_times.equals(k1_feed.stop_times)


@pytest.mark.parametrize("table", ["stops.txt", "stop_times.txt", "trips.txt", "routes.txt"])
def test_missing_required_table_raises(tmp_path, table):
    path = rewrite_zip(shared_file(K1), tmp_path / "feed.zip", drop={table})
    with pytest.raises(FeedError, match=rf"feed\.zip.*{table}"):
        gtfs_import.read_feed(path)


def test_missing_calendars_raises(tmp_path):
    path = rewrite_zip(shared_file(K1), tmp_path / "feed.zip", drop={"calendar_dates.txt"})
    with pytest.raises(FeedError, match="calendar"):
        gtfs_import.read_feed(path)


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_truncated_zip_raises(tmp_path, keep):
    data = shared_file(K1).read_bytes()
    path = tmp_path / "truncated.zip"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(FeedError, match="truncated.zip"):
        gtfs_import.read_feed(path)


def test_corrupt_member_raises_naming_it(tmp_path):
    path = rewrite_zip(shared_file(K1), tmp_path / "corrupt.zip")
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("stop_times.txt")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw = bytearray(path.read_bytes())
    for i in range(start + 100, start + 140):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(FeedError, match="stop_times.txt"):
        gtfs_import.read_feed(path)


def test_not_a_zip_raises(tmp_path):
    path = tmp_path / "feed.zip"
    path.write_text("<html>503 Service Unavailable</html>")
    with pytest.raises(FeedError, match="not a zip"):
        gtfs_import.read_feed(path)
    with pytest.raises(FeedError, match="no such file"):
        gtfs_import.read_feed(tmp_path / "absent.zip")
    assert issubclass(FeedError, ValueError)


def test_save_load_round_trip(tmp_path, k1_tt):
    path = tmp_path / "tt.npz"
    gtfs_import.save_timetable(k1_tt, path)
    loaded = gtfs_import.load_timetable(path)
    for name, value in k1_tt._asdict().items():
        got = getattr(loaded, name)
        if isinstance(value, np.ndarray):
            assert got.dtype == value.dtype, name
            np.testing.assert_array_equal(got, value, err_msg=name)
        else:
            assert got == value, name
    assert loaded.base_date == DATE


def test_load_rejects_another_format_version(tmp_path, k1_tt):
    path = tmp_path / "tt.npz"
    gtfs_import.save_timetable(k1_tt, path)
    with np.load(path) as data:
        arrays = dict(data)
    arrays["format_version"] = np.int32(gtfs_import.TIMETABLE_FORMAT_VERSION + 1)
    np.savez(path, **arrays)
    with pytest.raises(TimetableError, match="format version"):
        gtfs_import.load_timetable(path)
    path.write_bytes(b"garbage")
    with pytest.raises(TimetableError, match="cannot read"):
        gtfs_import.load_timetable(path)


def test_2019_feed_stops_keep_their_ids():
    feed = gtfs_import.read_feed(shared_file(TER_2019))
    assert (feed.stops["stop_id"] == "StopPoint:OCECar TER-87686378").sum() == 1
