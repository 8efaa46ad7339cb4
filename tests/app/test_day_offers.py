"""The day's offers kept per process (app.services.day_offers) against a fresh reading.

The need page reuses the drivers' side of a day between requests and applies the day's
bookings to it at each request. Whatever the bookings, its candidates must be those of a
search that reads everything again (``offers_for_day`` + the engine), and a booking made
or withdrawn must show at the next request.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.extensions import db
from app.models import (
    Beneficiary,
    Commune,
    Driver,
    DriverAvailability,
    DriverOffer,
    Place,
    Proposal,
    RideNeed,
    Structure,
)
from app.services import matching as service
from app.services.day_offers import day_offers

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 12, 8)  # a Tuesday inside the demo territory's validity


def _communes() -> list[Commune]:
    return list(db.session.execute(db.select(Commune).order_by(Commune.insee)).scalars())


def _world(rng: random.Random) -> tuple[list[Driver], list[RideNeed], list[DriverOffer]]:
    structure = Structure(name="France Services cache", kind="france_services")
    communes = _communes()
    hospital = db.session.execute(db.select(Place).filter_by(kind="hospital")).scalars().first()
    drivers = []
    for i in range(6):
        home = rng.choice(communes)
        d = Driver(structure=structure, first_name=f"V{i}", last_name="Test", phone_e164=f"+3361234560{i}",
                   home_commune_insee=home.insee, home_geom=home.geom, vehicle_seats=3, max_distance_km=40,
                   max_rides_per_day=rng.choice([1, 2]),
                   licence_valid_until=DAY + timedelta(days=300), insurance_valid_until=DAY + timedelta(days=300))
        d.availability = [DriverAvailability(weekday=1, slot=s) for s in ("morning", "afternoon") if rng.random() < 0.8]
        drivers.append(d)
    offers = []
    for i in range(2):
        origin = rng.choice(communes)
        offers.append(DriverOffer(driver=drivers[i], kind="regular", origin_label=origin.name, origin_geom=origin.geom,
                                  destination_label=hospital.name, destination_geom=hospital.geom,
                                  weekdays="0,1,2,3,4", time_of_day=f"0{8 + i}:30", flexibility_min=30, seats=2,
                                  max_detour_min=20))
    needs = []
    for i in range(8):
        home = rng.choice(communes)
        rider = Beneficiary(structure=structure, first_name=f"R{i}", last_name="Test", home_commune_insee=home.insee)
        hour = rng.choice([9, 10, 11, 14, 15, 16])
        needs.append(RideNeed(beneficiary=rider, structure=structure, pickup_label="Domicile", pickup_geom=home.geom,
                              dropoff_label=hospital.name, dropoff_place_id=hospital.id, dropoff_geom=hospital.geom,
                              time_mode="arrive_by", purpose="medical",
                              requested_at=datetime(2026, 12, 8, hour, rng.choice([0, 30]), tzinfo=PARIS).astimezone(UTC)))
    db.session.add_all([structure, *drivers, *offers, *needs])
    db.session.commit()
    return drivers, needs, offers


def _fresh(need: RideNeed) -> list[tuple]:
    """The candidates of a search that reads the day again (no kept state)."""
    from matching.rides import match_need

    excluded = {p.driver_id for p in need.proposals if p.status in ("declined", "expired")}
    trips, volunteers, index = service.offers_for_day(service.local_day_of(need.requested_at),
                                                      exclude_driver_ids=excluded)
    result = match_need(service.get_engine(), service.need_to_engine(need), trips, volunteers, top=10,
                        rate_eur_per_km=0.32, timezone="Europe/Paris")
    return [(index[c.offer_id][0].id, c.kind, c.pickup_s, c.dropoff_s, round(c.added_distance_m))
            for c in result.candidates]


def _kept(need: RideNeed) -> list[tuple]:
    outcome = service.candidates_for_need(need)
    return [(c.driver.id, c.kind, int(c.pickup_at.timestamp()), int(c.dropoff_at.timestamp()),
             round(c.added_distance_m)) for c in outcome.candidates if not c.joins]


def _book(rng: random.Random, need: RideNeed, driver: Driver, offer: DriverOffer | None) -> Proposal:
    start = need.requested_at - timedelta(minutes=rng.choice([60, 90, 120]))
    status = rng.choice(["pending", "accepted"])
    if status == "accepted":
        need.status = "confirmed"
    proposal = Proposal(need=need, driver=driver, offer=offer, kind="trip" if offer else "volunteer",
                        code=f"{rng.randrange(10**5):05d}", status=status, pickup_at=start + timedelta(minutes=10),
                        dropoff_at=need.requested_at, busy_from=start, busy_until=need.requested_at + timedelta(hours=1),
                        leg="outbound")
    db.session.add(proposal)
    db.session.commit()
    return proposal


def test_kept_offers_give_the_candidates_of_a_fresh_search_whatever_the_bookings(app):
    rng = random.Random(7)
    drivers, needs, offers = _world(rng)
    compared = nonempty = 0
    for step in range(5):
        for need in needs:
            fresh = _fresh(need)
            assert _kept(need) == fresh, (step, need.id)
            compared += 1
            nonempty += bool(fresh)
        free = [n for n in needs if not n.proposals]
        if not free:
            break
        need = rng.choice(free)
        driver = rng.choice(drivers)
        offer = rng.choice([None, *[o for o in offers if o.driver_id == driver.id]])
        _book(rng, need, driver, offer)
    assert compared >= 20 and nonempty >= 5  # the comparison saw candidates, not only empty lists


def test_a_booking_shows_at_the_next_request_and_its_withdrawal_too(app):
    rng = random.Random(3)
    drivers, needs, _ = _world(rng)
    for d in drivers:  # one volunteer, a ride a day
        d.active = d is drivers[0]
    drivers[0].max_rides_per_day = 1
    drivers[0].availability = []
    db.session.flush()
    drivers[0].availability = [DriverAvailability(weekday=1, slot="morning"),
                               DriverAvailability(weekday=1, slot="afternoon")]
    db.session.commit()
    morning = [n for n in needs if n.requested_at.astimezone(PARIS).hour < 12]
    target = next(n for n in morning if _kept(n))
    other = next(n for n in needs if n is not target and _kept(n))
    before = day_offers(DAY)
    proposal = _book(rng, other, drivers[0], None)
    proposal.status = "accepted"
    other.status = "confirmed"
    db.session.commit()
    # Her one ride of the day is taken: nobody is left for the other need.
    assert _kept(target) == [] == _fresh(target)
    after = day_offers(DAY)
    assert after.base is before.base  # the drivers' side was not read again
    proposal.status = "cancelled"
    other.status = "searching"
    db.session.commit()
    assert _kept(target) and _kept(target) == _fresh(target)


def test_an_offer_edited_in_place_shows_at_the_next_request(app):
    """Its hour moved: the kept drivers' side is read again (DriverOffer.updated_at)."""
    rng = random.Random(11)
    drivers, needs, offers = _world(rng)
    for d in drivers:
        d.availability = []
    db.session.commit()
    offer = offers[0]
    need = needs[0]
    before = day_offers(DAY)
    kept_before = _kept(need)
    assert kept_before == _fresh(need)
    offer.time_of_day = "18:45"  # the evening instead of the morning: no longer on her way
    db.session.commit()
    assert day_offers(DAY).base is not before.base
    assert _kept(need) == _fresh(need)
    trip_window = [t.departure_earliest_s for t in day_offers(DAY).offer_set.trips if t.offer_id == f"t{offer.id}"]
    assert trip_window and datetime.fromtimestamp(trip_window[0], PARIS).hour >= 18
