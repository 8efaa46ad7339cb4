"""The platform as a whole: health, home page, database on both back-ends, demo territory."""

from __future__ import annotations

from app.extensions import db
from app.models import Commune, Place, Structure, TransitStop, User, lat_lon, point
from app.services.accounts import authenticate, create_user


def test_healthz_reports_backend_and_territory(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == app.config["DATABASE_BACKEND"]
    assert body["database_ok"] is True
    assert body["territory"]["name"] == "demo"
    assert body["territory"]["demo"] is True
    assert body["territory"]["label"] == "données de démonstration"
    assert (
        body["territory"]["nodes"] > 200 and body["territory"]["edges"] > body["territory"]["nodes"]
    )


def test_home_page_is_french_and_labels_the_demo(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="fr"' in html
    assert "Mobilité solidaire du Lot" in html
    assert "données de démonstration" in html
    assert "/connexion" in html
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_demo_territory_is_stored_with_geometry(app):
    communes = db.session.execute(db.select(Commune)).scalars().all()
    assert len(communes) == 14
    valbourg = next(c for c in communes if c.name == "Valbourg")
    lat, lon = valbourg.lat_lon
    assert abs(lat - 44.4508) < 1e-5 and abs(lon - 1.4405) < 1e-5
    merged = next(c for c in communes if c.name == "Le Mas-Vieux")
    assert merged.merged_into_insee == next(c.insee for c in communes if c.name == "Combelongue")
    kinds = {p.kind for p in db.session.execute(db.select(Place)).scalars()}
    assert {
        "hospital",
        "pharmacy",
        "france_services",
        "france_travail",
        "public_services_bus",
    } <= kinds
    assert db.session.query(TransitStop).count() == 5


def test_spatial_query_runs_on_the_backend(app):
    """A real spatial function of SpatiaLite / PostGIS: communes within ~10 km of the town."""
    centre = point(44.4508, 1.4405)
    near = (
        db.session.execute(
            db.select(Commune.name).where(db.func.ST_Distance(Commune.geom, centre) < 0.12)
        )
        .scalars()
        .all()
    )
    assert "Valbourg" in near and "Combelongue" in near
    assert "Puech-Sainte-Foy" not in near  # 24 km away


def test_users_and_structures_round_trip(app):
    structure = Structure(name="CCAS d'essai", kind="ccas")
    db.session.add(structure)
    user = create_user("Agent@Example.fr", "Agent", "un-mot-de-passe", "aidant", structure)
    db.session.commit()
    assert user.password_hash != "un-mot-de-passe"
    assert authenticate("agent@example.fr", "un-mot-de-passe") is not None
    assert authenticate("agent@example.fr", "mauvais-mot-de-passe") is None
    stored = db.session.execute(db.select(User).filter_by(email="agent@example.fr")).scalar_one()
    assert stored.structure.name == "CCAS d'essai"


def test_point_helpers_round_trip(app):
    place = Place(territory="t", kind="other", name="Essai", geom=point(44.1, 1.2))
    db.session.add(place)
    db.session.commit()
    db.session.expire_all()
    assert lat_lon(db.session.get(Place, place.id).geom) == (44.1, 1.2)
    db.session.delete(place)
    db.session.commit()


def test_every_datetime_column_is_utc_aware():
    """SQLite hands back naive datetimes: every column must use UtcDateTime, or comparisons
    with aware values break on one back-end only."""
    from sqlalchemy import DateTime

    from app.models import UtcDateTime

    plain = [
        f"{table.name}.{column.name}"
        for table in db.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, DateTime) and not isinstance(column.type, UtcDateTime)
    ]
    assert plain == []
