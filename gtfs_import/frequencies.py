"""``frequencies.txt``: trips that run every N minutes, expanded into plain runs.

A trip listed in ``frequencies.txt`` is a template: its stop times give the travel and
dwell times relative to its first departure, and each row ``(start_time, end_time,
headway_secs, exact_times)`` says it leaves at ``start_time``, ``start_time + headway``,
... while strictly before ``end_time`` (GTFS reference).

* ``exact_times=1`` (schedule-based): those departures are the timetable, exactly.
* ``exact_times=0`` or blank (frequency-based): the operator only promises a vehicle about
  every ``headway_secs``. For routing the same expansion is used (a rider waits at most
  one headway, which is what a planner may assume), but each run keeps its headway so that
  a journey can say "every N min" instead of promising a minute
  (:attr:`gtfs_import.Leg.headway_s`).
"""

from __future__ import annotations

import gtfs_kit
import numpy as np
import pandas as pd

from gtfs_import.tables import parse_times


def frequency_runs(feed: gtfs_kit.Feed) -> pd.DataFrame:
    """One row per run of every frequency-based trip of a feed.

    Returns
    -------
    pandas.DataFrame
        Columns ``trip_id`` (string), ``start_s`` (first departure of the run, seconds of
        the service day), ``headway_s`` (int, ``0`` when ``exact_times=1``, i.e. the time
        is exact) and ``run`` (``0, 1, ...`` per trip). Rows with an unparsable time or a
        headway that is not positive are skipped (:func:`gtfs_import.validate_feed`
        reports them). Empty when the feed has no ``frequencies.txt``.
    """
    freq = getattr(feed, "frequencies", None)
    empty = pd.DataFrame(
        {
            "trip_id": pd.Series([], dtype="string"),
            "start_s": pd.Series([], dtype="int64"),
            "headway_s": pd.Series([], dtype="int64"),
            "run": pd.Series([], dtype="int64"),
        }
    )
    if freq is None or not len(freq):
        return empty
    start = parse_times(freq["start_time"])
    end = parse_times(freq["end_time"])
    headway = freq["headway_secs"].astype("Int64").fillna(0).to_numpy(dtype=np.int64)
    exact = (
        freq["exact_times"].astype("Int64").fillna(0).to_numpy(dtype=np.int64) == 1
        if "exact_times" in freq.columns
        else np.zeros(len(freq), dtype=bool)
    )
    ok = (start >= 0) & (end > start) & (headway > 0)
    if not ok.any():
        return empty
    start, end, headway, exact = start[ok], end[ok], headway[ok], exact[ok]
    trip = freq["trip_id"].astype("string").to_numpy()[ok]
    n = -(-(end - start) // headway)  # ceil: departures strictly before end_time
    row = np.repeat(np.arange(len(start)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    out = pd.DataFrame(
        {
            "trip_id": pd.Series(trip[row], dtype="string"),
            "start_s": start[row] + k * headway[row],
            "headway_s": np.where(exact[row], 0, headway[row]),
        }
    ).drop_duplicates(["trip_id", "start_s"])
    out = out.sort_values(["trip_id", "start_s"], kind="stable").reset_index(drop=True)
    out["run"] = out.groupby("trip_id").cumcount().astype("int64")
    return out


def expand_frequency_trips(
    stop_times: pd.DataFrame, trips: pd.DataFrame, runs: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace each frequency-based trip by its runs (internal frames of the timetable).

    ``stop_times`` has ``trip_id``, ``arr``, ``dep`` (seconds) sorted by trip and sequence;
    ``trips`` has ``trip_id``. Both gain ``run_key`` (unique per run: the trip id, or
    ``trip_id#k`` for the ``k``-th run) and ``trips`` gains ``headway_s``.
    """
    st = stop_times.assign(run_key=stop_times["trip_id"])
    tr = trips.assign(run_key=trips["trip_id"], headway_s=np.int64(0))
    if not len(runs):
        return st, tr
    templated = set(runs["trip_id"].tolist()) & set(tr["trip_id"].tolist())
    if not templated:
        return st, tr
    runs = runs.loc[runs["trip_id"].isin(templated)]
    keys = runs["trip_id"] + "#" + runs["run"].astype("string")
    runs = runs.assign(run_key=keys)
    base = st.loc[st["trip_id"].isin(templated)].drop(columns="run_key")
    first = base.groupby("trip_id", sort=False)["dep"].first()
    expanded = base.merge(runs[["trip_id", "start_s", "run_key"]], on="trip_id", how="inner")
    shift = expanded["start_s"].to_numpy() - expanded["trip_id"].map(first).to_numpy(dtype=np.int64)
    expanded["arr"] = expanded["arr"].to_numpy() + shift
    expanded["dep"] = expanded["dep"].to_numpy() + shift
    expanded = expanded.drop(columns="start_s")
    st = pd.concat([st.loc[~st["trip_id"].isin(templated)], expanded], ignore_index=True)
    tr_runs = (
        tr.loc[tr["trip_id"].isin(templated)]
        .drop(columns=["run_key", "headway_s"])
        .merge(runs[["trip_id", "run_key", "headway_s"]], on="trip_id", how="inner")
    )
    tr = pd.concat([tr.loc[~tr["trip_id"].isin(templated)], tr_runs], ignore_index=True)
    return st, tr
