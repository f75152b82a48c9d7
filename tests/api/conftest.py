import pytest
from django.test import Client

from api.models import ApiToken


def bearer_client(user, name="tests"):
    """A client that sends a personal API token, as a script would; no session."""
    _token, raw = ApiToken.issue(user, name)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def api(author):
    return bearer_client(author)
