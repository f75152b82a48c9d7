import json
import threading

import pytest
from standardwebhooks import Webhook
from werkzeug.wrappers import Response

from integrations.models import EventKind
from integrations.services import add_endpoint


class Receiver:
    """A webhook receiver as the Standard Webhooks spec asks one to be written: it verifies
    the signature and the timestamp with the spec's reference library (not our code), keeps
    every request, and processes each event id once."""

    def __init__(self):
        self.secret = None
        self.requests = []  # (webhook-id, payload) of every verified request
        self.refused = []
        self.status = 200
        self.lock = threading.Lock()

    def handle(self, request):
        body = request.get_data()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception as error:
            self.refused.append(str(error))
            return Response("bad signature", status=401)
        with self.lock:
            self.requests.append((request.headers["webhook-id"], payload))
        return Response(json.dumps({"ok": True}), status=self.status)

    @property
    def processed(self):
        """What a receiver that drops repeated ids would act on, in order."""
        seen, events = set(), []
        for event_id, payload in self.requests:
            if event_id not in seen:
                seen.add(event_id)
                events.append(payload)
        return events

    def types(self):
        return [payload["type"] for payload in self.processed]


@pytest.fixture
def receiver(httpserver):
    receiver = Receiver()
    httpserver.expect_request("/hooks/studio", method="POST").respond_with_handler(receiver.handle)
    return receiver


@pytest.fixture
def endpoint(team, manager, receiver, httpserver):
    endpoint, secret = add_endpoint(
        team, httpserver.url_for("/hooks/studio"), list(EventKind.values), "", manager
    )
    receiver.secret = secret
    return endpoint
