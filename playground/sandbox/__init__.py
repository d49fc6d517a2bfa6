"""The sandbox: a visitor's sockets, flow control, quotas and a process's registry (no Django).

Rules: the numbered safety rules live in sandbox.py; nothing here knows where
commands come from (an engine hands them in) or how the kernel is read (host/).
"""
