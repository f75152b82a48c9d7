import pytest
from pathlib import Path
from postmortems.importing.service import plan_import, write_import
from postmortems.export import export_markdown
from postmortems.layouts import LAYOUTS

SEEDS = Path("/work/shared/seeds")

@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("*.md")))
def test_scratch(name, team, author, manager, teammate):
    text = (SEEDS / name).read_text()
    plan = plan_import(text, team=team)
    incident = write_import(plan, by=author)
    for layout in LAYOUTS.values():
        md1 = export_markdown(incident.postmortem, layout)
        plan2 = plan_import(md1, team=team, template=layout.key)
        incident2 = write_import(plan2, by=author)
        md2 = export_markdown(incident2.postmortem, layout)
        Path(f"/tmp/rt-{name}-{layout.key}-1.md").write_text(md1)
        Path(f"/tmp/rt-{name}-{layout.key}-2.md").write_text(md2)
        assert md1 == md2, layout.key
