"""Helpers shared by the web views."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from ..extensions import db
from ..models import Commune
from ..services.rides import _territory_name


def commune_choices() -> list[tuple[str, str]]:
    """Communes of the active territory for a select, merged ones with their current name."""
    query = db.select(Commune).order_by(Commune.name)
    territory = _territory_name()
    if territory:
        query = query.where(Commune.territory == territory)
    communes = list(db.session.execute(query).scalars())
    names = {c.insee: c.name for c in communes}
    return [("", "— Choisir une commune —")] + [
        (c.insee, c.name + (f" (commune déléguée de {names[c.merged_into_insee]})"
                            if c.merged_into_insee in names else ""))
        for c in communes
    ]


def float_or_none(value: Any) -> float | None:
    return float(value) if value is not None else None


def fill_person_form(form: Any, person: Any) -> None:
    """Pre-fill the shared person fields from a record (GET of an edit page)."""
    from ..models import lat_lon
    from ..services.people import format_phone

    form.first_name.data = person.first_name
    form.last_name.data = person.last_name
    form.phone.data = format_phone(person.phone_e164)
    form.home_commune.data = person.home_commune_insee or ""
    form.home_address.data = person.home_address
    point = lat_lon(person.home_geom)
    if point:
        form.home_lat.data, form.home_lon.data = round(point[0], 6), round(point[1], 6)
    form.notes.data = person.notes


def json_download(payload: Any, filename: str) -> Response:
    """A person's data as a JSON file to download, never kept by a cache."""
    return Response(
        json.dumps(payload, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
