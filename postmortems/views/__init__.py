"""Views of the incident's document, one module per reason to change.

Every section goes through `sections.section`; every row of every list through `rows.row_new`,
`rows.row`, `rows.row_delete` and `rows.row_move`. What differs between sections is declared in
editing.py. Each view parses, authorizes (get_document_for: 404 outside the user's teams),
calls one service, and renders a fragment: 422 for invalid input and 409 for a stale version,
with the user's text kept in the form either way.
"""
