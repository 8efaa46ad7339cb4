"""Blueprint ``sms``: Twilio webhooks."""

from flask import Blueprint

bp = Blueprint("sms", __name__)
