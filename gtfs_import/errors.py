"""Exceptions of the GTFS importer and transit router.

Every exception raised on purpose by :mod:`gtfs_import` derives from :class:`ValueError`,
so that callers which only know "bad input" can catch one thing.
"""

from __future__ import annotations


class FeedError(ValueError):
    """A GTFS feed cannot be read at all.

    Raised for a path that does not exist, a file that is not a zip archive, a truncated or
    corrupt archive, or an archive missing one of the tables routing needs (``stops.txt``,
    ``stop_times.txt``, ``trips.txt``, ``routes.txt``). The message names the file and the
    problem. Defects that do not prevent reading are reported by
    :func:`gtfs_import.validate_feed` instead.
    """


class TimetableError(ValueError):
    """A timetable is inconsistent, or a saved timetable has the wrong format version."""


class QueryError(ValueError):
    """A journey query is malformed (unknown stop id, negative walk time, bad time...)."""
