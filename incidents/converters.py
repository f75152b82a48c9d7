class IncidentReferenceConverter:
    regex = r"INC-\d{4}-\d{4,}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
