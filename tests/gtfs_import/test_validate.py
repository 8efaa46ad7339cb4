"""validate_feed: the canonical validator's checks, each named by code, file, line and field.

Each check is tried on a small feed written for the purpose (one edit of a clean feed, read
back from files so that line numbers are the files' own), then on the real feeds.
"""

from __future__ import annotations

import collections
import csv
import io
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import gtfs_import
from gtfs_import import FRANCE_BBOX, LOT_BBOX, BBox, Problem
from gtfs_import.validate import MAX_PROBLEMS_PER_CHECK as MAX
from gtfs_import.validate import NOTICES
from tests.conftest import shared_file
from tests.gtfs_import.conftest import TER_2019
from tests.gtfs_import.synthetic import DATE, make_feed

#: A date within the clean feed's calendar, more than 30 days before its end.
TODAY = "20250301"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "gtfs-validation.md"

#: A clean feed of one bus line in the Lot: Cahors (station S, platform a), Mercuès, Luzech.
CLEAN = {
    "agency.txt": """agency_id,agency_name,agency_url,agency_timezone
A,Lot Bus,https://example.org,Europe/Paris
""",
    "stops.txt": """stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station
S,Cahors gare,44.4490,1.4330,1,
a,Cahors quai,44.4491,1.4331,0,S
b,Mercuès,44.4960,1.3890,0,
c,Luzech,44.4780,1.2880,0,
""",
    "routes.txt": """route_id,agency_id,route_short_name,route_long_name,route_type
R,A,1,Cahors - Luzech,3
""",
    "trips.txt": """route_id,service_id,trip_id
R,WK,T1
R,WK,T2
""",
    "stop_times.txt": """trip_id,arrival_time,departure_time,stop_id,stop_sequence
T1,08:00:00,08:00:00,a,1
T1,08:10:00,08:11:00,b,2
T1,08:25:00,08:25:00,c,3
T2,17:00:00,17:00:00,c,1
T2,17:14:00,17:15:00,b,2
T2,17:25:00,17:25:00,a,3
""",
    "calendar.txt": """service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
WK,1,1,1,1,1,0,0,20250101,20251231
""",
    "calendar_dates.txt": """service_id,date,exception_type
WK,20250501,2
""",
}

#: Four stops 4.9 km apart northwards: each hop at 147 km/h (under the bus limit of 150
#: once whole minutes are counted up to one minute late), 14.7 km end to end at 220 km/h.
FAR_TRIP = {
    "stops.txt": "d1,D1,44.300000,1.6,0,\nd2,D2,44.344067,1.6,0,\n"
    "d3,D3,44.388134,1.6,0,\nd4,D4,44.432201,1.6,0,\n",
    "trips.txt": "R,WK,T3\n",
    "stop_times.txt": "T3,09:00:00,09:00:00,d1,1\nT3,09:01:00,09:01:00,d2,2\n"
    "T3,09:02:00,09:02:00,d3,3\nT3,09:03:00,09:03:00,d4,4\n",
}

WITH_BLOCKS = {
    "trips.txt": "route_id,service_id,trip_id,block_id\nR,WK,T1,B1\nR,WK,T2,\nR,{svc},T3,B1\n",
    "stop_times.txt": CLEAN["stop_times.txt"]
    + "T3,08:05:00,08:05:00,a,1\nT3,08:30:00,08:30:00,c,2\n",
}
WEEKEND = "WE,0,0,0,0,0,1,1,20250101,20251231\n"

WITH_SHAPE = {
    "trips.txt": "route_id,service_id,trip_id,shape_id\nR,WK,T1,SH\nR,WK,T2,\n",
    # Through a and b, then to a point 1.1 km south of c.
    "shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence,shape_dist_traveled\n"
    "SH,44.4491,1.4331,1,0\nSH,44.4960,1.3890,2,6.2\nSH,44.4680,1.2880,3,{last}\n",
}

FEED_INFO = "feed_publisher_name,feed_publisher_url,feed_lang,feed_start_date,feed_end_date\n"


def write_feed(folder: Path, edits: dict[str, str | list[tuple[str, str]] | None]) -> Path:
    """The clean feed with edits: a text replaces a file (``+`` prefix: appends to it),
    ``None`` removes it, a list of (old, new) substitutes text that must be there."""
    files: dict[str, str] = dict(CLEAN)
    for name, edit in edits.items():
        if edit is None:
            del files[name]
        elif isinstance(edit, str):
            files[name] = files[name] + edit[1:] if edit.startswith("+") else edit
        else:
            for old, new in edit:
                assert old in files[name], f"{old!r} not in {name}"
                files[name] = files[name].replace(old, new, 1)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def problems_of(folder: Path, area: gtfs_import.BBox | None = LOT_BBOX, today: str = TODAY):
    return gtfs_import.validate_feed(gtfs_import.read_feed(folder), area, today=today)


#: (code, edits, expected file, line, field); ``today`` and ``area`` as in problems_of.
CASES: list[tuple[str, dict, str, int | None, str | None]] = [
    ("missing_required_file", {"agency.txt": None}, "agency.txt", None, None),
    (
        "missing_required_column",
        {"agency.txt": "agency_id,agency_name,agency_url\nA,Lot Bus,https://example.org\n"},
        "agency.txt", 1, "agency_timezone",
    ),
    ("missing_required_field", {"trips.txt": [("R,WK,T2", "R,,T2")]}, "trips.txt", 3,
     "service_id"),
    ("duplicate_key", {"stops.txt": "+b,Mercuès bis,44.4960,1.3890,0,\n"}, "stops.txt", 6,
     "stop_id"),
    ("duplicate_key", {"stop_times.txt": [("T2,17:25:00,17:25:00,a,3",
                                           "T2,17:25:00,17:25:00,a,2")]},
     "stop_times.txt", 7, "stop_sequence"),
    ("foreign_key_violation", {"trips.txt": [("R,WK,T2", "Z,WK,T2")]}, "trips.txt", 3,
     "route_id"),
    ("foreign_key_violation", {"stops.txt": [("0,\n", "0,ghost\n")]}, "stops.txt", 4,
     "parent_station"),
    ("invalid_timezone", {"agency.txt": [("Europe/Paris", "Europe/Cahors")]}, "agency.txt", 2,
     "agency_timezone"),
    (
        "inconsistent_agency_timezone",
        {"agency.txt": "+B,Autre,https://example.com,America/Montreal\n"},
        "agency.txt", 3, "agency_timezone",
    ),
    ("invalid_url", {"agency.txt": [("https://example.org", "example.org")]}, "agency.txt", 2,
     "agency_url"),
    (
        "invalid_color",
        {"routes.txt": "route_id,route_short_name,route_type,route_color\nR,1,3,red\n"},
        "routes.txt", 2, "route_color",
    ),
    ("unexpected_enum_value", {"routes.txt": [(",3\n", ",42\n")]}, "routes.txt", 2,
     "route_type"),
    ("unexpected_enum_value", {"calendar_dates.txt": [(",2\n", ",3\n")]},
     "calendar_dates.txt", 2, "exception_type"),
    ("route_both_short_and_long_name_missing", {"routes.txt": [("1,Cahors - Luzech", ",")]},
     "routes.txt", 2, "route_short_name"),
    ("route_short_and_long_name_equal", {"routes.txt": [("Cahors - Luzech", "1")]},
     "routes.txt", 2, "route_long_name"),
    ("route_short_name_too_long", {"routes.txt": [("A,1,", "A,Cahors-Luzech,")]},
     "routes.txt", 2, "route_short_name"),
    ("missing_stop_name", {"stops.txt": [("b,Mercuès,", "b,,")]}, "stops.txt", 4, "stop_name"),
    ("missing_required_field", {"stops.txt": [("44.4960,1.3890", ",1.3890")]}, "stops.txt", 4,
     "stop_lat"),
    ("number_out_of_range", {"stops.txt": [("44.4960,1.3890", "44.4960,191.3890")]},
     "stops.txt", 4, "stop_lon"),
    ("point_near_origin", {"stops.txt": [("44.4780,1.2880", "0.1,0.2")]}, "stops.txt", 5,
     "stop_lat"),
    ("point_near_pole", {"stops.txt": [("44.4780,1.2880", "89.5,1.2880")]}, "stops.txt", 5,
     "stop_lat"),
    ("wrong_parent_location_type", {"stops.txt": [("1.2880,0,", "1.2880,0,b")]}, "stops.txt", 5,
     "parent_station"),
    ("station_with_parent_station", {"stops.txt": [("1.4330,1,", "1.4330,1,b")]}, "stops.txt",
     2, "parent_station"),
    ("location_without_parent_station", {"stops.txt": "+E,Entrée,44.4489,1.4329,2,\n"},
     "stops.txt", 6, "parent_station"),
    ("location_with_unexpected_stop_time", {"stop_times.txt": [(",a,1", ",S,1")]},
     "stop_times.txt", 2, "stop_id"),
    ("invalid_time", {"stop_times.txt": [("T1,08:10:00", "T1,8h10")]}, "stop_times.txt", 3,
     "arrival_time"),
    ("stop_time_with_only_arrival_or_departure_time",
     {"stop_times.txt": [("08:10:00,08:11:00", "08:10:00,")]}, "stop_times.txt", 3,
     "arrival_time"),
    ("missing_trip_edge", {"stop_times.txt": [("T1,08:00:00,08:00:00", "T1,,")]},
     "stop_times.txt", 2, "arrival_time"),
    ("stop_time_with_arrival_before_previous_departure_time",
     {"stop_times.txt": [("T1,08:25:00,08:25:00", "T1,08:05:00,08:05:00")]},
     "stop_times.txt", 4, "arrival_time"),
    ("stop_time_with_departure_before_arrival_time",
     {"stop_times.txt": [("08:10:00,08:11:00", "08:10:00,08:09:00")]}, "stop_times.txt", 3,
     "departure_time"),
    ("stop_time_after_48_hours", {"stop_times.txt": [("17:25:00,17:25:00", "49:25:00,49:25:00")]},
     "stop_times.txt", 7, "arrival_time"),
    ("fast_travel_between_consecutive_stops",
     {"stop_times.txt": [("T1,08:10:00,08:11:00", "T1,08:01:00,08:01:00")]},
     "stop_times.txt", 3, "arrival_time"),
    ("fast_travel_between_far_stops", {k: "+" + v for k, v in FAR_TRIP.items()},
     "stop_times.txt", 11, "arrival_time"),
    ("block_trips_with_overlapping_stop_times",
     {"trips.txt": WITH_BLOCKS["trips.txt"].format(svc="WK"),
      "stop_times.txt": WITH_BLOCKS["stop_times.txt"]},
     "trips.txt", 4, "block_id"),
    ("unused_trip", {"trips.txt": "+R,WK,T9\n"}, "trips.txt", 4, "trip_id"),
    ("unusable_trip", {"trips.txt": "+R,WK,T9\n", "stop_times.txt": "+T9,09:00:00,09:00:00,a,1\n"},
     "trips.txt", 4, "trip_id"),
    ("invalid_date", {"calendar_dates.txt": [("20250501", "2025-05-01")]}, "calendar_dates.txt",
     2, "date"),
    ("invalid_date", {"calendar.txt": [("20251231", "20251331")]}, "calendar.txt", 2,
     "end_date"),
    ("start_and_end_range_out_of_order", {"calendar.txt": [("20250101", "20260101")]},
     "calendar.txt", 2, "end_date"),
    ("service_never_active", {"calendar.txt": "+WE,0,0,0,0,0,0,0,20250101,20251231\n"},
     "calendar.txt", 3, "service_id"),
    ("missing_feed_info_date",
     {"feed_info.txt": FEED_INFO + "Lot,https://example.org,fr,20250101,\n"},
     "feed_info.txt", 2, "feed_end_date"),
    ("feed_expiration_date7_days",
     {"feed_info.txt": FEED_INFO + "Lot,https://example.org,fr,20250101,20250305\n"},
     "feed_info.txt", 2, "feed_end_date"),
    ("feed_expiration_date30_days",
     {"feed_info.txt": FEED_INFO + "Lot,https://example.org,fr,20250101,20250331\n"},
     "feed_info.txt", 2, "feed_end_date"),
    ("stop_too_far_from_shape",
     {k: v.format(last=14.0) for k, v in WITH_SHAPE.items()}, "stop_times.txt", 4, "stop_id"),
    ("decreasing_or_equal_shape_distance",
     {k: v.format(last=6.2) for k, v in WITH_SHAPE.items()}, "shapes.txt", 4,
     "shape_dist_traveled"),
    ("decreasing_or_equal_stop_time_distance",
     {"stop_times.txt": CLEAN["stop_times.txt"].replace("stop_sequence\n", "stop_sequence,"
                                                        "shape_dist_traveled\n")
      .replace(",a,1\n", ",a,1,0\n").replace(",b,2\n", ",b,2,6\n").replace(",c,3\n", ",c,3,6\n")},
     "stop_times.txt", 4, "shape_dist_traveled"),
    ("unused_shape", {"shapes.txt": WITH_SHAPE["shapes.txt"].format(last=14.0)}, "shapes.txt", 2,
     "shape_id"),
    ("overlapping_frequency",
     {"frequencies.txt": "trip_id,start_time,end_time,headway_secs\n"
      "T1,06:00:00,09:00:00,1800\nT1,08:00:00,10:00:00,1800\n"},
     "frequencies.txt", 3, "start_time"),
    ("start_and_end_range_out_of_order",
     {"frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT1,09:00:00,06:00:00,1800\n"},
     "frequencies.txt", 2, "end_time"),
    ("number_out_of_range",
     {"frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT1,06:00:00,09:00:00,0\n"},
     "frequencies.txt", 2, "headway_secs"),
    ("start_and_end_range_equal",
     {"frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT1,09:00:00,09:00:00,1800\n"},
     "frequencies.txt", 2, "end_time"),
    ("stop_coordinates_swapped", {"stops.txt": [("44.4780,1.2880", "1.2880,44.4780")]},
     "stops.txt", 5, "stop_lat"),
    # The 2019 TER stop at Thionville, 600 km from the Lot once swapped back.
    ("stop_coordinates_swapped", {"stops.txt": [("44.4780,1.2880", "5.90106176,49.36898604")]},
     "stops.txt", 5, "stop_lat"),
    ("stop_outside_area", {"stops.txt": [("44.4780,1.2880", "48.8566,2.3522")]}, "stops.txt", 5,
     "stop_lat"),
]  # fmt: skip


def test_clean_feed_has_no_problem(tmp_path):
    assert problems_of(write_feed(tmp_path, {})) == []


@pytest.mark.parametrize(("code", "edits", "file", "line", "field"), CASES)
def test_each_check_names_code_file_line_and_field(tmp_path, code, edits, file, line, field):
    problems = problems_of(write_feed(tmp_path, edits))
    found = [p for p in problems if p.code == code]
    assert found, f"{code} not reported; got {[str(p) for p in problems]}"
    assert (file, line, field) in {(p.file, p.row, p.field) for p in found}, [str(p) for p in found]
    assert {p.severity for p in found} == {NOTICES[code][0]}
    # Errors first, then warnings, then infos.
    order = {"error": 0, "warning": 1, "info": 2}
    assert [order[p.severity] for p in problems] == sorted(order[p.severity] for p in problems)


def test_every_code_is_tried_and_documented():
    tried = {c[0] for c in CASES} | {"missing_calendar_and_calendar_date_files", "expired_calendar"}
    assert tried == set(NOTICES)
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOCS.read_text(), re.MULTILINE))
    assert documented == set(NOTICES)


def test_expired_calendar_and_expiry_from_calendars(tmp_path):
    folder = write_feed(tmp_path, {})
    late = {(p.code, p.file, p.row, p.field) for p in problems_of(folder, today="20260301")}
    assert ("expired_calendar", "calendar.txt", 2, "service_id") in late
    # Without feed_info, the last day a service runs stands for the feed's end.
    assert ("feed_expiration_date7_days", "calendar.txt", 2, "end_date") in late
    soon = {(p.code, p.row) for p in problems_of(folder, today="20251215")}
    assert soon == {("feed_expiration_date30_days", 2)}


def test_blocks_on_days_apart_do_not_overlap(tmp_path):
    edits = {
        "trips.txt": WITH_BLOCKS["trips.txt"].format(svc="WE"),
        "stop_times.txt": WITH_BLOCKS["stop_times.txt"],
        "calendar.txt": "+" + WEEKEND,
    }
    assert problems_of(write_feed(tmp_path, edits)) == []


def test_bad_calendar_dates_are_reported_not_dropped(tmp_path):
    folder = write_feed(tmp_path, {"calendar_dates.txt": "+WK,2025-06-02,2\nWK,20250230,1\n"})
    feed = gtfs_import.read_feed(folder)
    # The importer's calendar ignores these rows, which is why they must be reported.
    assert "2025-06-02" in set(feed.calendar_dates["date"])
    bad = [p for p in problems_of(folder) if p.code == "invalid_date"]
    assert [(p.file, p.row, p.field, p.severity) for p in bad] == [
        ("calendar_dates.txt", 3, "date", "error"),
        ("calendar_dates.txt", 4, "date", "error"),
    ]
    assert "'2025-06-02'" in bad[0].message and "'20250230'" in bad[1].message


def test_area_comes_from_the_caller(tmp_path):
    folder = write_feed(tmp_path, {"stops.txt": [("44.4780,1.2880", "1.2880,44.4780")]})
    assert not [p for p in problems_of(folder, area=None) if p.code.startswith("stop_")]
    codes = {p.code for p in problems_of(folder, area=FRANCE_BBOX)}
    assert "stop_coordinates_swapped" in codes
    feed = gtfs_import.read_feed(folder)
    assert gtfs_import.validate_feed(feed, bbox=LOT_BBOX, today=TODAY) == gtfs_import.validate_feed(
        feed, LOT_BBOX, today=TODAY
    )
    with pytest.raises(ValueError, match="area"):
        gtfs_import.validate_feed(feed, LOT_BBOX, bbox=LOT_BBOX)


def test_missing_calendars_in_memory():
    feed = make_feed(
        [("a", 44.45, 1.44), ("b", 44.46, 1.45)],
        [[("a", "8:00:00", "8:00:00", 0, 0), ("b", "8:10:00", "8:10:00", 0, 0)]],
    )
    feed.calendar_dates = None
    problems = gtfs_import.validate_feed(feed, LOT_BBOX, today=DATE)
    assert ("missing_calendar_and_calendar_date_files", "error", "calendar.txt", None) in {
        (p.code, p.severity, p.file, p.row) for p in problems
    }


def test_input_is_not_modified_and_times_past_midnight_are_fine():
    feed = make_feed(
        [("a", 44.45, 1.44), ("b", 44.46, 1.45), ("c", 44.47, 1.46)],
        [[("a", "23:50:00", "23:50:00", 0, 0), ("b", "24:10:00", "24:11:00", 0, 0),
          ("c", "25:20:00", "25:20:00", 0, 0)]],
    )  # fmt: skip
    before = {name: getattr(feed, name).copy() for name in ("stops", "stop_times", "trips")}
    assert gtfs_import.validate_feed(feed, LOT_BBOX, today="20241101") == []
    for name, df in before.items():
        assert df.equals(getattr(feed, name))


def test_flex_rows_name_a_zone_and_a_window(tmp_path):
    flex = {
        "trips.txt": "+R,WK,F1\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence,location_id,"
        "start_pickup_drop_off_window,end_pickup_drop_off_window\n"
        + "".join(line + ",,,\n" for line in CLEAN["stop_times.txt"].splitlines()[1:])
        + "F1,,,,1,zone-46042,08:00:00,12:00:00\nF1,,,,2,zone-46,08:00:00,12:00:00\n",
    }
    assert problems_of(write_feed(tmp_path, flex)) == []
    flex["stop_times.txt"] = flex["stop_times.txt"].replace("zone-46042", "")
    found = {(p.code, p.row, p.field) for p in problems_of(write_feed(tmp_path, flex))}
    assert found == {("missing_required_field", 8, "stop_id")}


def test_area_expanded_by_a_margin():
    lot = BBox(44.2, 1.0, 45.0, 2.2).expanded(30)
    assert lot.min_lat == pytest.approx(44.2 - 30 / 111.195)
    assert lot.max_lon - 2.2 == pytest.approx(30 / (111.195 * math.cos(math.radians(45))))
    # Brive station (line K1) lies within 30 km of the Lot's communes, Toulouse does not.
    assert lot.contains(np.array([45.1469]), np.array([1.5300]))[0]
    assert not lot.contains(np.array([43.6112]), np.array([1.4536]))[0]


def test_problem_keeps_its_positional_api():
    p = Problem("error", "stops.txt", 3, "stop_lat", "bad")
    assert p.code == "" and str(p) == "ERROR stops.txt:3 [stop_lat]: bad"
    q = Problem("warning", "stops.txt", None, None, "far", "stop_outside_area")
    assert str(q) == "WARNING stops.txt stop_outside_area: far"


# -- real feeds ---------------------------------------------------------------------------


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def test_real_2025_feeds_have_no_errors(k1_feed, lot_feed):
    k1 = gtfs_import.validate_feed(k1_feed, FRANCE_BBOX, today="20250124")
    # One service of the feed ended the day before it was published.
    assert {p.code for p in k1} == {"expired_calendar"}
    lot = gtfs_import.validate_feed(lot_feed, FRANCE_BBOX, today="20250124")
    assert errors(lot) == []


def test_real_feed_expired_long_ago(lot_feed):
    problems = gtfs_import.validate_feed(lot_feed, FRANCE_BBOX, today="20261128")
    codes = collections.Counter(p.code for p in problems)
    assert errors(problems) == [] and codes["feed_expiration_date7_days"] == 1
    assert codes["expired_calendar"] == MAX + 1  # listed, then one summary line
    assert any(p.message.startswith("... and") for p in problems)


@pytest.fixture(scope="module")
def problems_2019(feed_2019) -> list[Problem]:
    return gtfs_import.validate_feed(feed_2019, FRANCE_BBOX, today="20191001")


def test_2019_swapped_coordinates_are_named(feed_2019, problems_2019):
    problems = problems_2019
    swapped = [p for p in problems if p.code == "stop_coordinates_swapped"]
    ids = {p.message.split("'")[1] for p in swapped}
    assert {"StopArea:OCE87686378", "StopPoint:OCECar TER-87686378"} <= ids
    # Swapped coordinates block an import, and nothing else in this feed does.
    assert errors(problems) == swapped
    with zipfile.ZipFile(shared_file(TER_2019)) as zf:
        lines = zf.read("export-ter-gtfs-last/stops.txt").decode("utf-8-sig").splitlines()
    for p in swapped:
        assert p.file == "stops.txt" and p.field == "stop_lat"
        row = next(csv.reader(io.StringIO(lines[p.row - 1])))
        assert row[0] in p.message
    assert str(swapped[0]).startswith("ERROR stops.txt:")


def test_2019_fast_travel_points_at_real_lines(feed_2019, problems_2019):
    fast = [p for p in problems_2019 if p.code == "fast_travel_between_consecutive_stops" and p.row]
    assert fast
    st = feed_2019.stop_times
    for p in fast[:10]:
        row = st.iloc[p.row - 2]
        assert repr(row["trip_id"]) in p.message and repr(row["stop_id"]) in p.message


def test_outside_territory_is_a_warning(lot_feed):
    problems = gtfs_import.validate_feed(lot_feed, LOT_BBOX, today="20250124")
    outside = [p for p in problems if p.code == "stop_outside_area"]
    assert len(outside) == MAX + 1 and {p.severity for p in outside} == {"warning"}
    assert outside[-1].message.startswith("... and") and errors(problems) == []
    # Without a territory there is nothing to compare the stops with.
    no_area = gtfs_import.validate_feed(lot_feed, today="20250124")
    assert not [p for p in no_area if p.code == "stop_outside_area"]


@pytest.mark.slow
def test_whole_france_feed_has_no_errors(france_feed):
    problems = gtfs_import.validate_feed(france_feed, FRANCE_BBOX, today="20250124")
    assert errors(problems) == []


def test_in_memory_tables_keep_their_lines():
    feed = make_feed(
        [("a", 44.45, 1.44), ("b", 44.46, 1.45)],
        [[("a", "8:00:00", "8:00:00", 0, 0), ("b", "8h10", "8:10:00", 0, 0)]],
    )
    found = {(p.code, p.file, p.row, p.field) for p in gtfs_import.validate_feed(feed, today=DATE)}
    assert ("invalid_time", "stop_times.txt", 3, "arrival_time") in found
