"""Why an offer cannot serve a need: stable codes, for the aidant to know what to change."""

from __future__ import annotations

import enum


class Reason(enum.IntEnum):
    """Reason codes, checked in this order (the first failing check is reported)."""

    FEASIBLE = 0
    WINDOW_TOO_SHORT = 1
    OVER_100_KM = 2
    REQUIREMENT_UNMET = 3
    NO_SEAT = 4
    TOO_FAR = 5
    DETOUR_TOO_LONG = 6
    NO_ONE_AVAILABLE_THEN = 7
    NO_RETURN = 8
    NO_OFFER = 9
    TAKEN_BY_OTHER_NEED = 10

    @property
    def code(self) -> str:
        """The snake_case code used in results and by the app (e.g. ``too_far``)."""
        return self.name.lower()

    @property
    def description(self) -> str:
        """A short English description (the app writes its own French messages)."""
        return DESCRIPTIONS[self]


DESCRIPTIONS: dict[Reason, str] = {
    Reason.FEASIBLE: "the offer can serve the need",
    Reason.WINDOW_TOO_SHORT: "even leaving at the earliest pickup, the direct drive arrives too late",
    Reason.OVER_100_KM: "the ride is longer than the 100 km of social-utility transport",
    Reason.REQUIREMENT_UNMET: "the driver or vehicle lacks a requirement (accompaniment, wheelchair...)",
    Reason.NO_SEAT: "not enough free seats",
    Reason.TOO_FAR: "pickup or drop-off beyond the volunteer's distance or duration from home",
    Reason.DETOUR_TOO_LONG: "the detour exceeds what the driver accepts",
    Reason.NO_ONE_AVAILABLE_THEN: "nobody available at that time (availability or departure window)",
    Reason.NO_RETURN: "the outbound ride is possible but no offer brings the rider back",
    Reason.NO_OFFER: "there is no offer at all",
    Reason.TAKEN_BY_OTHER_NEED: "the feasible offers were all given to other needs",
}
