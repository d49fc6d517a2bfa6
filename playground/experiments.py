"""The guided experiments: their titles and steps, for the page and the lessons.

Each step's check runs in the browser (playground.js) against the live state;
the ids here are what the lessons' "Try it" links name.
"""

EXPERIMENTS = [
    {
        "id": "port-before-socket",
        "title": "A port exists before a socket",
        "lesson": "sockets",
        "steps": [
            "Reset the sandbox: no socket lives at server port 3000.",
            "Listen on server port 3000 (TCP).",
            "Find the new socket in the table: state LISTEN, no remote address yet.",
        ],
    },
    {
        "id": "three-sockets",
        "title": "One connection, three sockets",
        "lesson": "the-5-tuple",
        "steps": [
            "Listen on server port 3000.",
            "Connect from laptop to server port 3000.",
            "Read the table: the listener, the laptop's client socket and the server's "
            "accepted socket. The client's local address is the accepted socket's remote one.",
        ],
    },
    {
        "id": "two-clients",
        "title": "Two clients, one listening port",
        "lesson": "the-5-tuple",
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
        "steps": [
            "Bind a UDP socket on server port 5353.",
            "Bind a UDP socket on laptop (port 0 lets the system pick one).",
            "Send a datagram from the laptop's UDP socket to server port 5353.",
            "See it arrive, while neither socket ever had a remote address.",
        ],
    },
    {
        "id": "ports-stay",
        "title": "Sockets are destroyed, ports stay",
        "lesson": "sockets",
        "steps": [
            "Listen on server port 3000 and connect from laptop.",
            "Close the server's accepted socket first.",
            "Close the laptop's socket: the server side now waits in TIME_WAIT.",
            "Close the listener.",
            "Listen on server port 3000 again: EADDRINUSE, because the old connection still "
            "holds the port for about a minute.",
        ],
    },
]
