"""What the document tells the apps above it, once the change is committed.

The follow-up engine (actionitems) and the integrations listen; the document imports neither.
Each signal is sent from `transaction.on_commit`, so a receiver never sees a rolled-back change.
"""

from django.db import transaction
from django.dispatch import Signal

# A comment was posted: `comment`, and the `mentions` (Mention rows) it made, maybe none.
comment_posted = Signal()


def send_on_commit(signal, sender, **kwargs):
    transaction.on_commit(lambda: signal.send(sender=sender, **kwargs))
