"""Open data out: the volunteers' regular trips and the solidarity service as GTFS."""


def export_gtfs() -> bytes:
    raise NotImplementedError
