# Related incidents were a list on the postmortem, one way only. They become
# incidents.IncidentLink rows, one per pair, shown on both documents with a note.

from django.db import migrations, models


def links_from_related_incidents(apps, schema_editor):
    Postmortem = apps.get_model("postmortems", "Postmortem")
    IncidentLink = apps.get_model("incidents", "IncidentLink")
    through = Postmortem.related_incidents.through
    seen = set()
    links = []
    rows = through.objects.values_list("postmortem__incident_id", "incident_id").order_by("pk")
    for incident_id, related_id in rows:
        pair = frozenset((incident_id, related_id))
        if incident_id == related_id or pair in seen:
            continue  # both sides listed each other: one link
        seen.add(pair)
        links.append(IncidentLink(incident_id=incident_id, related_id=related_id))
    # A pair linked already (migrated back and forth) stays as it is.
    IncidentLink.objects.bulk_create(links, batch_size=1000, ignore_conflicts=True)


def related_incidents_from_links(apps, schema_editor):
    Postmortem = apps.get_model("postmortems", "Postmortem")
    IncidentLink = apps.get_model("incidents", "IncidentLink")
    through = Postmortem.related_incidents.through
    postmortems = dict(Postmortem.objects.values_list("incident_id", "pk"))
    rows = []
    for incident_id, related_id in IncidentLink.objects.values_list("incident_id", "related_id"):
        if incident_id in postmortems:
            rows.append(through(postmortem_id=postmortems[incident_id], incident_id=related_id))
    through.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ('postmortems', '0008_fill_section_versions'),
        ('incidents', '0006_tags_links_approval_target'),
    ]

    operations = [
        migrations.RunPython(links_from_related_incidents, related_incidents_from_links),
        migrations.RemoveField(
            model_name='postmortem',
            name='related_incidents',
        ),
        migrations.AddIndex(
            model_name='reviewevent',
            index=models.Index(fields=['postmortem', 'kind', 'to_status', 'at'], name='review_event_first_status'),
        ),
    ]
