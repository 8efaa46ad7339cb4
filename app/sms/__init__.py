"""Blueprint ``sms``: Twilio webhooks (inbound texts, delivery reports) and the SMS simulator."""

from flask import Blueprint

bp = Blueprint("sms", __name__)

from . import simulator, views  # noqa: E402,F401  (routes register on bp)
