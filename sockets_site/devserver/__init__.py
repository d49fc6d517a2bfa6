"""`manage.py runserver` as the project serves it (`make run`): Daphne's, without a
Server header.

Rules: no server the project starts names its software in a Server header (it tells
an attacker which bugs to try). Daphne's command line says so with --no-server-name
(deploy/Procfile, deploy/systemd); Daphne's runserver has no such option, so this app
comes before "daphne" in INSTALLED_APPS and its runserver is Daphne's with an empty
server name: Daphne then adds no Server header to HTTP responses, and Autobahn none
to the WebSocket handshake.
"""
