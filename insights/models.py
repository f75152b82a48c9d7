from django.contrib.postgres.search import SearchVectorField
from django.db import models

from incidents.models import Incident


class SearchEntry(models.Model):
    """The searchable text of one section of one incident's document (or of the comments on
    it), with its tsvector stored and GIN-indexed on PostgreSQL.

    One row per section, not per row of a list: a hit names the section to open
    (#section-<key> on the document), and a document's entries stay few (about twenty), so
    ranking and grouping by document stay cheap. indexing.py keeps the rows up to date on
    every save; on SQLite the vector stays empty and search reads `text`.
    """

    class Kind(models.TextChoices):
        CONTENT = "content", "Section"
        COMMENTS = "comments", "Comments"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    # A key of postmortems.editing.EDITABLE_SECTIONS: the anchor of the section on the page.
    section = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CONTENT)
    # Plain text (Markdown marks dropped), for snippets and the SQLite fallback; the heading
    # (the incident's title) counts most.
    heading = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    # How much a match in `text` counts: A for summaries and root causes, down to D for
    # comments (indexing.WEIGHTS).
    weight = models.CharField(max_length=1, default="C")
    # setweight(heading, A) || setweight(text, weight), written by the database after each
    # write (indexing.EntryVector); empty on SQLite.
    vector = SearchVectorField(null=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "section", "kind"], name="unique_search_entry"
            ),
        ]
        # The GIN index on `vector` is created by migration 0001 on PostgreSQL only (SQLite
        # has no GIN); it is not declared here so that SQLite migrations stay possible.
        verbose_name_plural = "search entries"

    def __str__(self) -> str:
        return f"{self.incident_id} {self.section} ({self.kind})"


class ChosenIncident(models.Model):
    """An incident a dashboard request chose, with the times every chart reads computed once:
    the milestones as the incident page derives them (the recorded time, else the first
    timeline event of its kind), the first approval and publication of its postmortem, and
    its team's approval target. Rows live in a temporary table for one request
    (dashboard.chosen_incidents); nothing is stored."""

    incident = models.OneToOneField(
        Incident,
        primary_key=True,
        db_column="id",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    started_at = models.DateTimeField()
    severity = models.CharField(max_length=4)
    team = models.ForeignKey(
        "incidents.Team", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    detected_time = models.DateTimeField(null=True)
    acknowledged_time = models.DateTimeField(null=True)
    resolved_time = models.DateTimeField(null=True)
    postmortem = models.ForeignKey(
        "postmortems.Postmortem",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True)
    published_at = models.DateTimeField(null=True)
    target_minutes = models.FloatField()

    class Meta:
        managed = False
        db_table = "insights_chosen_incident"

    def __str__(self) -> str:
        return str(self.pk)
