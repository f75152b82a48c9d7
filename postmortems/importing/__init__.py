"""Bringing postmortems written elsewhere into the app.

`parser` turns Markdown (a Google Docs or Confluence export, a seed-shaped document, our own
export, a pasted timeline) into plain data with no Django in it; `service` writes that data in
one transaction. The timeline paste box and `manage.py import_postmortem` use the same parser.
"""
