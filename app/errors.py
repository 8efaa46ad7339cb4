"""Errors of the application layer."""

from __future__ import annotations


class PlatformError(Exception):
    """Base class of the application's own errors."""


class TerritoryBuildError(PlatformError, ValueError):
    """A territory source is missing or invalid; the message names the file and the problem."""


class TerritoryNotBuilt(PlatformError, RuntimeError):
    """No territory has been built yet in the configured folder."""
