"""The host: the network namespace, its addresses and the kernel's socket table (no Django).

Rules: everything here talks to the operating system; nothing here knows about
sessions, learners or the wire.
"""
