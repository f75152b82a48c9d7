"""Action items as a list section of the postmortem document, declared like every other
section (postmortems/editing.py) and registered from this app's AppConfig.ready()."""

from postmortems.editing import RowSection

from .models import ActionItem


def describe_action_item(item: ActionItem) -> str:
    due = f"{item.due_date:%Y-%m-%d}" if item.due_date else "no due date"
    owner = item.owner_display or "unassigned"
    tracker = f" | {item.tracker_url}" if item.tracker_url else ""
    return (
        f"{item.title} | {item.priority} | {owner} | {due} | {item.get_status_display()} | "
        f"{item.get_category_display()} | {item.get_term_display()}{tracker}"
    )


ACTION_ITEMS = RowSection(
    "action_items",
    "Action items",
    ActionItem,
    "postmortem",
    (
        "title",
        "owner",
        "owner_name",
        "due_date",
        "priority",
        "status",
        "category",
        "term",
        "tracker_url",
        "description",
    ),
    describe_action_item,
    add_label="Add action item",
    row_tag="tr",
    columns=7,
    restorable=False,
    select_related=("owner",),
)
