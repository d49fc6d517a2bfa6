"""The guided experiments: their titles and steps, for the page and the lessons.

Rules:
- Each step's check runs in the browser (playground.js, CHECKS) against the live
  state, one check per step, in the same order; the ids are what the lessons'
  "Try it" links name.
- Every experiment is linked from the lesson section that teaches it (`teaches`,
  "<lesson>#<section anchor>"), and the page links back to that section.
- Step texts say only what the kernel really does: a listener never gets a remote
  address, and the port of a closed connection is held by the kernel, not the program.
"""

EXPERIMENTS = [
    {
        "id": "port-before-socket",
        "title": "Nothing is at a port until a socket binds it",
        "lesson": "sockets",
        "teaches": "sockets#ports-and-sockets-are-not-the-same-thing",
        "steps": [
            "Reset the sandbox: no socket is bound at server port 3000.",
            "Listen on server port 3000 (TCP).",
            "Find the new socket in the table: state LISTEN, and no remote address. A listener "
            "never gets one; the sockets it accepts do.",
        ],
    },
    {
        "id": "connection-refused",
        "title": "Connection refused: a port with no socket",
        "lesson": "ports",
        "teaches": "ports#a-port-with-nothing-at-it",
        "steps": [
            "Reset the sandbox: no socket is bound at server port 3000.",
            "Connect from laptop to server port 3000: ECONNREFUSED. The port number is fine, "
            "but no socket listens there, so the connection is refused.",
            "Listen on server port 3000.",
            "Connect from laptop to server port 3000 again: now a listening socket is there, "
            "and the connection is made.",
        ],
    },
    {
        "id": "same-port-tcp-udp",
        "title": "One port number, TCP and UDP",
        "lesson": "ports",
        "teaches": "ports#finding-the-process",
        "steps": [
            "Listen on server port 3000 (TCP).",
            "Bind a UDP socket on server port 3000 too: no EADDRINUSE, because TCP and UDP "
            "have separate sets of ports.",
            "See both sockets at local port 3000 in the table, one TCP and one UDP, drawn as "
            "two separate docks.",
        ],
    },
    {
        "id": "three-sockets",
        "title": "One connection, three sockets",
        "lesson": "the-5-tuple",
        "teaches": "the-5-tuple#a-worked-example",
        "steps": [
            "Listen on server port 3000.",
            "Connect from laptop to server port 3000. The laptop's socket gets an ephemeral "
            "port, from 32768 to 60999 on Linux.",
            "Read the table: the listener, the laptop's client socket and the server's "
            "accepted socket. The client's local address is the accepted socket's remote one: "
            "these two are the connection's ends.",
        ],
    },
    {
        "id": "two-clients",
        "title": "Two clients, one listening port",
        "lesson": "the-5-tuple",
        "teaches": "the-5-tuple#a-worked-example",
        "steps": [
            "Listen on server port 3000.",
            "Connect from laptop to server port 3000.",
            "Connect from laptop to server port 3000 again.",
            "Compare the two accepted sockets: same local address and port, different remote "
            "ports, so their 5-tuples still differ.",
        ],
    },
    {
        "id": "udp-no-connection",
        "title": "UDP sends without a connection",
        "lesson": "connections",
        "teaches": "connections#started-used-ended",
        "steps": [
            "Bind a UDP socket on server port 5353.",
            "Bind a UDP socket on laptop (port 0 lets the system pick an ephemeral port).",
            "Send a datagram from the laptop's UDP socket to server port 5353.",
            "See it arrive, while neither socket ever had a remote address.",
        ],
    },
    {
        "id": "ports-stay",
        "title": "Closed, but the port is still taken",
        "lesson": "sockets",
        "teaches": "sockets#when-the-socket-closes-the-port-can-stay-taken",
        "steps": [
            "Listen on server port 3000 (without SO_REUSEADDR) and connect from laptop.",
            "Close the server's accepted socket first: the server is the side that closes first.",
            "Close the laptop's socket: the server's side of the connection now waits in "
            "TIME_WAIT, kept by the kernel although the program closed its socket.",
            "Close the listener.",
            "Listen on server port 3000 again: EADDRINUSE, because the kernel still keeps the "
            "old connection at that address and port for about a minute.",
        ],
    },
]
