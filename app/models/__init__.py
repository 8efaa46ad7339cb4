"""Domain models. Importing this package registers every table on ``db.metadata``."""

from ._types import SRID, UtcDateTime, lat_lon, point, utcnow
from .core import (
    PLACE_KINDS,
    ROLES,
    STRUCTURE_KINDS,
    AuditLog,
    Commune,
    Place,
    Structure,
    TransitFeed,
    TransitRoute,
    TransitStop,
    User,
)
from .messaging import SmsMessage
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
)

__all__ = [
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
    "Commune",
    "Driver",
    "DriverAvailability",
    "DriverOffer",
    "NeedEvent",
    "Place",
    "Proposal",
    "RideNeed",
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
