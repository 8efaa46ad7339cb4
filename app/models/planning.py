"""Day plans computed in the background by the queue, kept until the day's data change."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UtcDateTime, utcnow
from .core import User

PLAN_STATUSES = ("queued", "running", "done", "failed")


class DayPlanRun(db.Model):
    """One computation of a day's plan for a coordinator's scope.

    ``scope`` names the needs and drivers planned (e.g. ``all`` or ``structure:3``);
    ``fingerprint`` is the day's data when it was computed (app.services.day_state): a plan
    whose fingerprint differs from today's data is out of date. ``result`` is the plan as
    plain JSON (ids, times, figures) so it shows without re-running the solver.
    """

    __tablename__ = "day_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    scope: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))
    seconds: Mapped[float | None] = mapped_column(Float)
    proven_optimal: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    requested_by: Mapped[User | None] = relationship()
