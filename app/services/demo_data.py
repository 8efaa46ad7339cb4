"""Demo structures, accounts and sample data, for `make run` on the demo territory."""

from __future__ import annotations

from ..extensions import db
from ..models import Commune, Structure, User
from .accounts import create_user

DEMO_ACCOUNTS = (
    ("admin", "admin@demo.mobilite-lot.fr", "admin-demo-46", "Alice Administratrice", None),
    ("coordinator", "coordination@demo.mobilite-lot.fr", "coord-demo-46", "Claude Coordinatrice", "France Services de Valbourg"),
    ("aidant", "aidant@demo.mobilite-lot.fr", "aidant-demo-46", "Amélie Aidante", "France Services de Valbourg"),
    ("aidant", "ccas@demo.mobilite-lot.fr", "ccas-demo-46", "Bruno du CCAS", "CCAS de Combelongue"),
)


def seed_demo() -> list[tuple[str, str, str]]:
    """Create what is missing of the demo data; return (role, e-mail, password) of the accounts."""
    communes = db.session.execute(db.select(Commune).order_by(Commune.insee)).scalars().all()
    structures = {}
    for name, kind, covered in (
        ("France Services de Valbourg", "france_services", [c for c in communes if c.name != "Combelongue"]),
        ("CCAS de Combelongue", "ccas", [c for c in communes if c.name in ("Combelongue", "Le Mas-Vieux")]),
    ):
        structure = db.session.execute(db.select(Structure).filter_by(name=name)).scalar_one_or_none()
        if structure is None:
            structure = Structure(name=name, kind=kind, communes=covered)
            db.session.add(structure)
        structures[name] = structure
    db.session.flush()
    for role, email, password, name, structure_name in DEMO_ACCOUNTS:
        if db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none() is None:
            create_user(email, name, password, role, structures.get(structure_name) if structure_name else None)
    db.session.commit()
    return [(role, email, password) for role, email, password, _n, _s in DEMO_ACCOUNTS]
