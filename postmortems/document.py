"""What the page shows of a postmortem: its layout's groups, each section with its content."""

from dataclasses import dataclass

from .layouts import Group, Placement


@dataclass(frozen=True)
class DocumentSection:
    postmortem: object
    placement: Placement

    @property
    def key(self):
        return self.placement.key

    @property
    def title(self):
        return self.placement.title

    @property
    def prompt(self):
        return self.placement.prompt

    @property
    def section(self):
        return self.placement.section

    @property
    def anchor(self):
        return f"section-{self.key}"

    @property
    def body_template(self):
        """A section's own template if it has one; free-text sections share one."""
        return [f"postmortems/sections/{self.key}.html", "postmortems/sections/text.html"]

    @property
    def text(self):
        """The Markdown source of a single-field section."""
        return getattr(self.postmortem, self.section.fields[0]) if self.section.fields else ""

    @property
    def rows(self):
        if not self.section.is_rows:
            return []
        owner = self.postmortem.incident if self.key == "timeline" else self.postmortem
        return getattr(owner, self.section.rows).all()

    @property
    def is_empty(self):
        if self.section.is_rows:
            return not self.rows
        return all(getattr(self.postmortem, f) in (None, "") for f in self.section.fields)


@dataclass(frozen=True)
class DocumentGroup:
    group: Group
    sections: list

    @property
    def title(self):
        return self.group.title

    @property
    def is_single(self):
        return self.group.is_single


def document_groups(postmortem):
    return [
        DocumentGroup(group, [DocumentSection(postmortem, p) for p in group.placements])
        for group in postmortem.layout.groups
    ]
