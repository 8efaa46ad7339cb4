"""Fixtures shared by the whole suite.

Real data lives outside the repository, in ``../shared/data`` next to the project root
(override with ``LOT_SHARED_DATA``). Tests that need it ask for the ``shared_data`` fixture
and are skipped, with the reason, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("LOT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_file(relative: str) -> Path:
    """Path of a file of ../shared/data, or skip the calling test with a clear reason."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see shared/data/SOURCES.md)")
    return path


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA} is absent")
    return SHARED_DATA


pytest_plugins = ["tests.app_fixtures"]
