"""Exceptions raised by the matching engine.

Every exception of the package derives from :class:`MatchingError`; the ones about bad input
also derive from :class:`ValueError` so that callers that only know the standard library can
still catch them.
"""

from __future__ import annotations


class MatchingError(Exception):
    """Base class of every error raised by :mod:`matching`."""


class GraphError(MatchingError, ValueError):
    """A road graph (or an array meant to build one) breaks an invariant."""


class CHError(MatchingError, ValueError):
    """A contraction-hierarchy index breaks an invariant or does not fit its graph."""


class OSMReadError(MatchingError, ValueError):
    """An OpenStreetMap file is missing, empty, truncated, not OSM, or has no drivable road."""


class CacheFormatError(MatchingError, ValueError):
    """A cached ``.npz`` file (graph or CH index) is unreadable or of another format version."""


class RideError(MatchingError, ValueError):
    """A ride need, a driver trip or a volunteer availability is inconsistent."""


class SolverError(MatchingError, RuntimeError):
    """The assignment solver failed on a problem that should always be solvable."""
