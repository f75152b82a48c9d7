"""What the document tells the apps above it.

The follow-up engine (actionitems) and the integrations listen; the document imports neither.
`comment_posted` is sent from `transaction.on_commit`, so a receiver never sees a rolled-back
change. `section_saved` is sent inside the save's transaction, for receivers that must write in
the same transaction (the integrations' outbox): a field section is saved with one conditional
UPDATE, which sends no post_save.
"""

from typing import Any

from django.db import transaction
from django.dispatch import Signal

# A comment was posted: `comment`, and the `mentions` (Mention rows) it made, maybe none.
comment_posted = Signal()

# A field section was saved: `incident`, `key`, `owner` (the Incident or Postmortem, with the
# new values), `before` and `after` ({field: value}), and the `revision` recorded.
section_saved = Signal()


def send_on_commit(signal: Signal, sender: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=sender, **kwargs))
