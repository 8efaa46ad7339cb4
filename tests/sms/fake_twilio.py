"""A local fake of Twilio's Messages API (loopback only), for the real ``twilio`` client.

Speaks what the outbox uses of https://api.twilio.com:

- ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form: To, From or MessagingServiceSid,
  Body, StatusCallback) → 201 with the message resource;
- ``GET  /2010-04-01/Accounts/{sid}/Messages.json?To=&From=&PageSize=`` → one page, newest first;
- ``GET  /2010-04-01/Accounts/{sid}/Messages/{MessageSid}.json``.

HTTP basic auth must carry the account sid and auth token. What happens to each POST is
scripted per recipient (``script["+336…"] = ["500", "429", "ok"]``, then "ok" forever):

- ``ok``: create the message, answer 201;
- ``429`` / ``500`` / ``503``: create nothing, answer that error (Twilio's JSON error body);
- ``400``: permanent error 21211 (invalid 'To' number);
- ``hang_after_create``: create the message, then hold the answer until ``release`` is set
  (the client is killed while it waits: the message exists, the client never learned its sid);
- ``hang_before_create``: hold the request, and drop it without creating anything.

``created`` lists every message created, in order: a duplicate send shows up there.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
FROM_NUMBER = "+33700000000"


class FakeTwilio:
    """The fake server; use as a context manager (serves in a daemon thread on 127.0.0.1)."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.script: dict[str, list[str]] = defaultdict(list)
        self.created: list[dict[str, Any]] = []
        self.posts: list[tuple[str, str]] = []  # (to, action) of every POST received
        self.hanging = threading.Event()  # set when a request is being held
        self.release = threading.Event()  # set to let held requests go
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def created_for(self, to: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.created if m["to"] == to]

    # --- request handling ----------------------------------------------------------------

    def _next_action(self, to: str) -> str:
        with self._lock:
            queue = self.script.get(to)
            action = queue.pop(0) if queue else "ok"
            self.posts.append((to, action))
            return action

    def _create(self, form: dict[str, str]) -> dict[str, Any]:
        now = datetime.now(UTC)
        sid = "SM" + uuid.uuid4().hex
        message = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": form.get("Body", ""),
            "date_created": format_datetime(now, usegmt=True), "date_sent": None,
            "date_updated": format_datetime(now, usegmt=True), "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form.get("From") or FROM_NUMBER,
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0", "num_segments": "1",
            "price": None, "price_unit": "EUR", "sid": sid, "status": "queued", "to": form.get("To", ""),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {}, "status_callback": form.get("StatusCallback"),
        }
        with self._lock:
            self.created.append(message)
        return message

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def _send_json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client is gone (killed while we held its request)

            def _error(self, status: int, code: int, message: str) -> None:
                self._send_json(status, {"code": code, "message": message, "more_info": "", "status": status})

            def _authorised(self) -> bool:
                expected = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._error(401, 20003, "Authenticate")
                    return False
                return True

            def _base(self) -> str:
                return f"/2010-04-01/Accounts/{fake.account_sid}/Messages"

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if not self._authorised():
                    return
                if urlsplit(self.path).path != self._base() + ".json":
                    self._error(404, 20404, "Not found")
                    return
                action = fake._next_action(form.get("To", ""))
                if action in ("429", "500", "503"):
                    status = int(action)
                    self._error(status, 20429 if status == 429 else 20500, "Too Many Requests" if status == 429 else "Internal error")
                elif action == "400":
                    self._error(400, 21211, "The 'To' number is not a valid phone number.")
                elif action == "hang_after_create":
                    message = fake._create(form)
                    fake.hanging.set()
                    fake.release.wait(60)
                    self._send_json(201, message)
                elif action == "hang_before_create":
                    fake.hanging.set()
                    fake.release.wait(60)
                    self.close_connection = True
                else:
                    self._send_json(201, fake._create(form))

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                if not self._authorised():
                    return
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == self._base() + ".json":
                    with fake._lock:
                        found = [m for m in reversed(fake.created)
                                 if m["to"] == query.get("To", m["to"]) and m["from"] == query.get("From", m["from"])]
                    size = int(query.get("PageSize", 50))
                    self._send_json(200, {
                        "messages": found[:size], "end": min(size, len(found)) - 1, "first_page_uri": parts.path,
                        "next_page_uri": None, "page": 0, "page_size": size, "previous_page_uri": None,
                        "start": 0, "uri": self.path,
                    })
                    return
                if parts.path.startswith(self._base() + "/") and parts.path.endswith(".json"):
                    sid = parts.path.rsplit("/", 1)[1][:-5]
                    with fake._lock:
                        match = next((m for m in fake.created if m["sid"] == sid), None)
                    if match is None:
                        self._error(404, 20404, "Not found")
                    else:
                        self._send_json(200, match)
                    return
                self._error(404, 20404, "Not found")

        return Handler
