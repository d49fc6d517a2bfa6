"""The pool engine: sandboxes in a pool of sandbox processes, each serving its own (no Django).

Rules:
- A sandbox process (`manage.py playground_process`) holds sandboxes in its own
  registry, as the local engine does, and serves their WebSockets itself: a
  command and its events never leave that process.
- The proxy routes each WebSocket upgrade to the process that owns the session's
  sandbox: nginx asks the route view (playground.views.route), which reads the
  placement in Redis (placement.route) and names the owner's address.
- Redis holds placement only (names.py): which processes live, how full each is,
  which process owns each session, sandboxes per address across processes. What
  needs a sandbox from elsewhere (a lab question graded on an HTTP worker) asks
  its owner over the channel layer (asking.py), off the learners' path.
- Faults (presence.py): a process killed loses its key within LEASE_MS, and the
  next route of its sessions says so (`sandbox.lost`, process_lost) and places
  them anew; SIGTERM drains; a Redis restart loses no sandbox.
"""
