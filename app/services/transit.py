"""The territory's public transport: feeds, timetables and the RAPTOR router, once per process.

The feeds are the GTFS archives of the active territory (``loaded_territory().path / "gtfs"``).
A timetable is built for a service day and the day after (so that an evening query can reach
the next morning), cached in memory (a few days) and on disk as ``.npz`` in the instance
folder, keyed by the feeds' checksums: a restarted worker loads it instead of rebuilding it.

Times: GTFS times are wall-clock times of the feeds' time zone (config ``TIMEZONE``), counted
from "noon minus 12 h" of the service day; :func:`clock_of` and :meth:`TransitService.at`
convert between aware datetimes and timetable seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app

log = logging.getLogger(__name__)

#: How many service days keep their timetable in memory.
MEMORY_DAYS = 6

_lock = threading.Lock()
_EXT_KEY = "lot_transit"


@dataclass(frozen=True)
class StopInfo:
    """What a journey needs to show about a stop."""

    stop_id: str
    name: str
    lat: float
    lon: float
    parent_id: str | None


@dataclass(frozen=True)
class RouteInfo:
    """What a journey needs to show about a line."""

    route_id: str
    short_name: str | None
    long_name: str | None
    route_type: int
    agency: str | None


@dataclass
class TransitService:
    """Feeds of a territory and their timetables by service day (thread-safe, lazy).

    Build it with :func:`transit_service_from_files` (plain arguments, no Flask), or get the
    active territory's with :func:`transit_service`.
    """

    feeds: tuple[Any, ...]  # gtfs_kit.Feed
    fingerprint: str
    tz: ZoneInfo
    cache_dir: Path | None
    service_days: frozenset[str]
    agencies: dict[str, str] = field(default_factory=dict)  # route_id -> agency name
    # Not init fields: a service derived with dataclasses.replace (other feeds) builds its own.
    _routers: OrderedDict[str, Any] = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def has_feeds(self) -> bool:
        return bool(self.feeds)

    @property
    def first_day(self) -> str | None:
        return min(self.service_days) if self.service_days else None

    @property
    def last_day(self) -> str | None:
        return max(self.service_days) if self.service_days else None

    def runs_around(self, day: dt.date) -> bool:
        """Whether any feed runs on ``day``, the day before or the day after."""
        return any(
            (day + dt.timedelta(days=k)).strftime("%Y%m%d") in self.service_days for k in (-1, 0, 1)
        )

    def router_for(self, day: dt.date) -> Any | None:
        """The router (gtfs_import.TransitRouter) of ``day`` and the day after; None if no service."""
        from gtfs_import import TransitRouter

        if not self.feeds or not self.runs_around(day):
            return None
        key = day.strftime("%Y%m%d")
        with self._lock:
            router = self._routers.get(key)
            if router is not None:
                self._routers.move_to_end(key)
                return router
            router = TransitRouter(self._timetable(day))
            self._routers[key] = router
            while len(self._routers) > MEMORY_DAYS:
                self._routers.popitem(last=False)
            return router

    def _timetable(self, day: dt.date) -> Any:
        from gtfs_import import TimetableError, build_timetable, load_timetable, save_timetable

        path = None
        if self.cache_dir is not None:
            path = self.cache_dir / f"timetable-{self.fingerprint[:16]}-{day:%Y%m%d}.npz"
            if path.exists():
                try:
                    return load_timetable(path)
                except TimetableError as exc:  # stale or damaged: rebuild below
                    log.warning("rebuilding timetable: %s", exc)
        tt = build_timetable(list(self.feeds), [day, day + dt.timedelta(days=1)])
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.stem + f".{threading.get_ident()}.tmp.npz")
            save_timetable(tt, tmp)
            tmp.replace(path)
        return tt

    # -- stops, routes and time ---------------------------------------------------------

    def at(self, router: Any, seconds: int) -> dt.datetime:
        """Aware datetime of timetable seconds of ``router``'s timetable (its own clock: the
        first feed's agency time zone, clock changes included), shown in the platform's zone."""
        from gtfs_import import datetime_at

        return datetime_at(router.tt, int(seconds)).astimezone(self.tz)

    def seconds(self, router: Any, when: dt.datetime) -> int:
        """Timetable seconds of an aware instant on ``router``'s clock."""
        from gtfs_import import seconds_of

        return int(seconds_of(router.tt, when))

    def stop(self, router: Any, stop_id: str) -> StopInfo:
        """Name and position of a stop of the router's timetable."""
        tt = router.tt
        i = router._index[stop_id]  # noqa: SLF001 - the router's own id lookup, read-only
        parent = int(tt.stop_parent[i])
        return StopInfo(
            stop_id=stop_id,
            name=str(tt.stop_names[i]) or stop_id,
            lat=float(tt.stop_lat[i]),
            lon=float(tt.stop_lon[i]),
            parent_id=str(tt.stop_ids[parent]) if parent >= 0 else None,
        )

    def route(self, router: Any, route_id: str) -> RouteInfo:
        """Names and type of a line of the router's timetable."""
        tt = router.tt
        idx = _route_index(router)
        r = idx[route_id]
        return RouteInfo(
            route_id=route_id,
            short_name=str(tt.route_short_names[r]) or None,
            long_name=str(tt.route_long_names[r]) or None,
            route_type=int(tt.route_types[r]),
            agency=self.agencies.get(route_id),
        )


def _route_index(router: Any) -> dict[str, int]:
    cached = getattr(router, "_lot_route_index", None)
    if cached is None:
        cached = {r: i for i, r in enumerate(router.tt.route_ids.tolist())}
        router._lot_route_index = cached  # noqa: SLF001 - memo on our own router instance
    return cached


def datetime_of(base_date: str, seconds: int, tz: ZoneInfo) -> dt.datetime:
    """Aware datetime of GTFS seconds counted from "noon minus 12 h" of ``base_date``."""
    day = dt.datetime.strptime(base_date, "%Y%m%d").date()
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=tz).astimezone(dt.UTC)
    return (noon + dt.timedelta(seconds=int(seconds) - 43_200)).astimezone(tz)


def clock_of(when: dt.datetime, tz: ZoneInfo) -> tuple[dt.date, int]:
    """(service day, seconds since "noon minus 12 h" of that day) of an aware datetime."""
    local = when.astimezone(tz)
    day = local.date()
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=tz)
    return day, int((local - noon).total_seconds()) + 43_200


def transit_service_from_files(
    feed_paths: Sequence[Path], tz: str | ZoneInfo = "Europe/Paris", cache_dir: Path | None = None
) -> TransitService:
    """Read the feeds (checked on import, so read as they are) into a :class:`TransitService`."""
    from gtfs_import import feed_dates, read_feed, routes_table

    paths = sorted(Path(p) for p in feed_paths)
    digest = hashlib.sha256()
    feeds = []
    days: set[str] = set()
    agencies: dict[str, str] = {}
    for path in paths:
        digest.update(path.name.encode())
        digest.update(_file_digest(path).encode())
        feed = read_feed(path)
        feeds.append(feed)
        days.update(feed_dates(feed))
        routes = routes_table(feed)
        for rid, name in zip(routes["route_id"], routes["agency_name"], strict=True):
            if isinstance(name, str):
                agencies[f"{len(feeds) - 1}:{rid}" if len(paths) > 1 else str(rid)] = name
    return TransitService(
        feeds=tuple(feeds),
        fingerprint=digest.hexdigest(),
        tz=tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz),
        cache_dir=cache_dir,
        service_days=frozenset(days),
        agencies=agencies,
    )


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def transit_service(app: Flask | None = None) -> TransitService:
    """The active territory's transit service, loaded once per process and territory build."""
    from .runtime import loaded_territory

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    territory = loaded_territory(app)
    cached = app.extensions.get(_EXT_KEY)
    if cached is not None and cached[0] == territory.path:
        return cached[1]  # type: ignore[no-any-return]
    with _lock:
        cached = app.extensions.get(_EXT_KEY)
        if cached is not None and cached[0] == territory.path:
            return cached[1]  # type: ignore[no-any-return]
        feeds = sorted((territory.path / "gtfs").glob("*.zip"))
        service = transit_service_from_files(
            feeds,
            tz=app.config.get("TIMEZONE", "Europe/Paris"),
            cache_dir=Path(app.instance_path) / "transit-cache",
        )
        app.extensions[_EXT_KEY] = (territory.path, service)
        return service


# -- importing feeds into the active territory --------------------------------------------


class FeedImportError(ValueError):
    """A feed cannot be imported; ``problems`` lists the blocking ones (gtfs_import.Problem)."""

    def __init__(self, message: str, problems: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


def territory_area(manifest: dict[str, Any] | None) -> Any:
    """The area a territory's feeds should lie in: its communes' box and 30 km around."""
    from gtfs_import import BBox

    box = (manifest or {}).get("bbox")
    return BBox(*box).expanded(30) if box else None


def check_feed(path: Path, bbox: Any = None) -> list[Any]:
    """Problems of a feed (gtfs_import.Problem, errors first); an unreadable feed is one error."""
    from gtfs_import import FeedError, Problem, read_feed, validate_feed

    try:
        feed = read_feed(path)
    except FeedError as exc:
        return [Problem("error", Path(path).name, None, None, str(exc))]
    return validate_feed(feed, bbox)


def _feed_name(entry: dict[str, Any]) -> str:
    source = entry.get("source")
    if source:
        return Path(str(source)).name
    file = str(entry["file"])
    return file.split("-", 1)[1] if file[:2].isdigit() and "-" in file else file


def _link_or_copy(src: Path, dst: Path) -> None:
    import os
    import shutil

    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def import_feeds(root: Path, feed_paths: Sequence[Path]) -> Path:
    """Add GTFS feeds to the active territory, replacing feeds of the same file name.

    Every feed is validated first (a blocking problem raises :class:`FeedImportError` and
    changes nothing). The territory is then re-staged with the new feed list and stored by
    :func:`app.services.territory.store_territory`, which replaces the territory's stops and
    routes in one transaction; only then does the ``current`` link move to the new folder.
    Returns the new territory folder.
    """
    import datetime as _dt
    import json
    import shutil
    import tempfile

    from .territory import (
        StagedTerritory,
        activate_territory,
        current_territory_path,
        discard_staged,
        read_manifest,
        read_territory_records,
        store_territory,
    )

    root = Path(root)
    current = current_territory_path(root)
    manifest = read_manifest(current)
    checked: list[tuple[Path, int]] = []
    for path in map(Path, feed_paths):
        problems = check_feed(path, territory_area(manifest))
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise FeedImportError(
                f"{path}: {len(errors)} blocking problem(s); nothing was imported", errors
            )
        checked.append((path, sum(1 for p in problems if p.severity == "warning")))
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=root))
    try:
        for item in current.iterdir():
            if item.is_file():
                _link_or_copy(item, staging / item.name)
        (staging / "gtfs").mkdir()
        by_name = {_feed_name(e): e for e in manifest.get("feeds", [])}
        used = [
            int(str(e["file"])[:2])
            for e in manifest.get("feeds", [])
            if str(e["file"])[:2].isdigit()
        ]
        next_index = max(used, default=-1) + 1
        for path, warnings in checked:
            old = by_name.get(path.name)
            if old is not None and str(old["file"])[:2].isdigit():
                index = int(str(old["file"])[:2])
            else:
                index, next_index = next_index, next_index + 1
            by_name[path.name] = {
                "file": f"{index:02d}-{path.name}",
                "source": str(path),
                "sha256": _file_digest(path),
                "warnings": warnings,
            }
            shutil.copyfile(path, staging / "gtfs" / by_name[path.name]["file"])
        new_names = {p.name for p, _ in checked}
        for name, entry in by_name.items():
            if name not in new_names:
                _link_or_copy(
                    current / "gtfs" / str(entry["file"]), staging / "gtfs" / str(entry["file"])
                )
        feeds = sorted(by_name.values(), key=lambda e: str(e["file"]))
        manifest = {
            **manifest,
            "feeds": feeds,
            "built_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        (staging / "manifest.json").unlink(missing_ok=True)
        (staging / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        communes, places, aliases = read_territory_records(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staged = StagedTerritory(
        staging, manifest, communes, places, [staging / "gtfs" / e["file"] for e in feeds], aliases
    )
    try:
        store_territory(staged)
    except BaseException:
        discard_staged(staged)
        raise
    return activate_territory(root, staged)
