"""Section versions move from "the highest revision" to a map on the row that holds the
section, so that a save can be one UPDATE conditional on its version. Existing documents get
their maps from their revisions."""

from django.db import migrations
from django.db.models import Max

# Sections whose fields or rows belong to the incident; every other one to its postmortem.
INCIDENT_SECTIONS = {"incident_details", "incident_times", "timeline", "services"}


def fill(apps, schema_editor):
    Incident = apps.get_model("incidents", "Incident")
    Postmortem = apps.get_model("postmortems", "Postmortem")
    Revision = apps.get_model("postmortems", "Revision")
    maps = {}
    rows = Revision.objects.values("incident", "section").annotate(latest=Max("version"))
    for row in rows.iterator():
        owner = "incident" if row["section"] in INCIDENT_SECTIONS else "postmortem"
        maps.setdefault((owner, row["incident"]), {})[row["section"]] = row["latest"]
    for (owner, incident_id), versions in maps.items():
        if owner == "incident":
            Incident.objects.filter(pk=incident_id).update(section_versions=versions)
        else:
            Postmortem.objects.filter(incident_id=incident_id).update(section_versions=versions)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0005_section_versions"),
        ("postmortems", "0007_section_versions"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
