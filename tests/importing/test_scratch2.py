import sys, pytest
sys.path.insert(0, "/tmp")
from lost import lost
from pathlib import Path
from postmortems.importing.service import plan_import, write_import
from postmortems.importing.text import repair
from postmortems.export import export_markdown
from postmortems.layouts import LAYOUTS
SEEDS = Path("/work/shared/seeds")
@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("*.md")))
def test_lost(name, team, author):
    text = repair((SEEDS / name).read_text())[0]
    incident = write_import(plan_import(text, team=team), by=author)
    for layout in LAYOUTS.values():
        md = export_markdown(incident.postmortem, layout)
        print(name, layout.key, {w: n for w, n in lost(text, md).items()})
