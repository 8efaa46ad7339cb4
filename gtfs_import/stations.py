"""Stations shared by several feeds: joined on purpose, never merged by id.

Two feeds may both publish ``stop_id`` ``"a"`` for unrelated stops, and the same station
under different ids (a TER feed and a coach feed both serve Cahors). The timetable keeps
every feed in its own id namespace, then joins stations explicitly:

* by rule: two *places* of different feeds (a place is a station, or a stop without a
  parent station) whose names are equal once normalised (:func:`normalise_name`) and that
  are at most ``max_m`` apart;
* by a table given at import: ``((feed, stop_id), (feed, stop_id))`` pairs.

Joined places get footpaths between all their stops (at least the change time), so a
journey changes between the two feeds there, exactly as between two stops of one station.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from gtfs_import.errors import FeedError

EARTH_RADIUS_M = 6_371_000.0

#: One end of an explicit join: (feed name or index, stop id as published by that feed).
StationRef = tuple[str | int, str]

#: Words that say "station" rather than name it, dropped before comparing names.
_NOISE = re.compile(r"\b(gare|gare routiere|station|arret|sncf|ter)\b")


def normalise_name(name: str) -> str:
    """Comparable form of a stop name: no accents, case, punctuation or "gare"/"station".

    >>> normalise_name("Gare de Cahors") == normalise_name("CAHORS")
    False
    >>> normalise_name("Saint-Céré (gare)") == normalise_name("saint cere")
    True
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"[^0-9a-z]+", " ", text)
    text = _NOISE.sub(" ", text)
    return " ".join(text.split())


def _xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    out: np.ndarray = (
        EARTH_RADIUS_M * np.c_[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]
    )
    return out


def joined_places(
    feed: np.ndarray,
    name: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    place: np.ndarray,
    max_m: float,
) -> list[tuple[int, int]]:
    """Pairs of places of different feeds with the same normalised name within ``max_m``.

    Parameters
    ----------
    feed, name, lat, lon
        Per stop of the timetable: feed index, name and position.
    place
        Per stop, the index of its place (its parent station, or itself); only indices
        that are their own place are compared.
    max_m
        Greatest distance between the two places (straight line, metres).
    """
    idx = np.flatnonzero((place == np.arange(len(place))) & np.isfinite(lat) & np.isfinite(lon))
    if len(idx) < 2 or max_m <= 0 or len(np.unique(feed[idx])) < 2:
        return []
    keys = np.array([normalise_name(str(n)) for n in name[idx]], dtype=object)
    pairs = cKDTree(_xyz(lat[idx], lon[idx])).query_pairs(r=max_m, output_type="ndarray")
    out = []
    for a, b in pairs:
        if feed[idx[a]] != feed[idx[b]] and keys[a] and keys[a] == keys[b]:
            out.append((int(idx[a]), int(idx[b])))
    return sorted(out)


def linked_places(
    links: Iterable[tuple[StationRef, StationRef]],
    feed_names: Sequence[str],
    stop_index: Mapping[str, int],
    prefixes: Sequence[str],
) -> list[tuple[int, int]]:
    """Stop indices of an explicit join table; :class:`FeedError` for an unknown end."""
    out = []
    for pair in links:
        ends = []
        for feed, stop_id in pair:
            k = feed if isinstance(feed, int) else _feed_number(feed, feed_names)
            if not 0 <= k < len(prefixes):
                raise FeedError(f"station_links: no feed {feed!r}")
            s = stop_index.get(prefixes[k] + str(stop_id))
            if s is None:
                raise FeedError(f"station_links: feed {feed!r} has no stop {stop_id!r}")
            ends.append(s)
        out.append((ends[0], ends[1]))
    return out


def _feed_number(name: str, feed_names: Sequence[str]) -> int:
    try:
        return list(feed_names).index(name)
    except ValueError:
        raise FeedError(
            f"station_links: no feed named {name!r} (feeds: {', '.join(feed_names)})"
        ) from None


def join_footpaths(
    pairs: Iterable[tuple[int, int]], place: np.ndarray, served: np.ndarray
) -> pd.DataFrame:
    """Pairs ``(u, v)`` (both directions) joining the served stops of each joined place."""
    kids = pd.Series(np.arange(len(place))).groupby(place).agg(list).to_dict()
    us: list[int] = []
    vs: list[int] = []
    for a, b in pairs:
        left = [s for s in kids.get(int(place[a]), [a]) if served[s]]
        right = [s for s in kids.get(int(place[b]), [b]) if served[s]]
        for u in left:
            for v in right:
                if u != v:
                    us += [u, v]
                    vs += [v, u]
    return pd.DataFrame({"u": np.asarray(us, dtype=np.int64), "v": np.asarray(vs, dtype=np.int64)})
