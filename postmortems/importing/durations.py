"""A duration as people say it, shared by the page, the export and the importer (which must
recognise the export's derived lines to leave them out)."""

from datetime import timedelta


def format_duration(value: timedelta | None) -> str:
    """ "<1 min", "30 min", "2 h 34 min", "1 d 3 h"; "—" when unknown."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return "<1 min"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    if minutes and not days:
        parts.append(f"{minutes} min")
    return " ".join(p for p in parts if p)
