"""The wire: what the playground's clients and engines say (no Django).

Rules: the protocol's ops, its events, the errors and their explanations, and the
limits a client can meet are each declared once here; every other layer reads them.
"""
