"""What the follow-up engine's tests share: a real SMTP server and reading what it received."""

import email
import email.policy
import re
import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"

    def to(self, address):
        """The messages delivered to one address, oldest first."""
        return [message for rcpt, message in self.messages if address in rcpt]

    def clear(self):
        self.messages.clear()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_in(text: str, label: str, site: str = "http://localhost:8000") -> str:
    """The path of the link a text email labels "Label: URL"."""
    match = re.search(rf"^\s*{re.escape(label)}: {re.escape(site)}(\S+)\s*$", text, re.MULTILINE)
    assert match, f"no {label!r} link in:\n{text}"
    return match[1]
