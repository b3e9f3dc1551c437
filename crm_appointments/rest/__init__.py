"""The HTTP side of the app: it translates requests to documents and documents to responses.

No business rule lives here; the DocType controllers hold them all.
"""
