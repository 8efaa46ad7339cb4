"""Domain models. Importing this package registers every table on ``db.metadata``."""

from ._types import SRID, UtcDateTime, lat_lon, point, utcnow
from .absences import DriverAbsence, DriverExtraSlot
from .core import (
    PLACE_KINDS,
    ROLES,
    STRUCTURE_KINDS,
    AuditLog,
    Commune,
    CommuneAlias,
    Place,
    Structure,
    TransitFeed,
    TransitRoute,
    TransitStop,
    User,
)
from .messaging import SmsMessage
from .notes import CALL_PARTIES, CallNote
from .people import ELIGIBILITY_BASES, SLOTS, Beneficiary, Driver, DriverAvailability
from .rides import (
    NEED_STATUSES,
    PROPOSAL_STATUSES,
    PURPOSES,
    RETURN_MODES,
    TIME_MODES,
    DriverOffer,
    NeedEvent,
    Proposal,
    RideNeed,
    RideNeedSeries,
)

__all__ = [
    "CALL_PARTIES",
    "ELIGIBILITY_BASES",
    "NEED_STATUSES",
    "PLACE_KINDS",
    "PROPOSAL_STATUSES",
    "PURPOSES",
    "RETURN_MODES",
    "ROLES",
    "SLOTS",
    "SRID",
    "STRUCTURE_KINDS",
    "TIME_MODES",
    "AuditLog",
    "Beneficiary",
    "CallNote",
    "Commune",
    "CommuneAlias",
    "Driver",
    "DriverAbsence",
    "DriverAvailability",
    "DriverExtraSlot",
    "DriverOffer",
    "NeedEvent",
    "Place",
    "Proposal",
    "RideNeed",
    "RideNeedSeries",
    "SmsMessage",
    "Structure",
    "TransitFeed",
    "TransitRoute",
    "TransitStop",
    "User",
    "UtcDateTime",
    "lat_lon",
    "point",
    "utcnow",
]
