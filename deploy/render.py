"""Fill in deploy/nginx.conf.template: the only thing that differs between hosts.

    .venv/bin/python -m deploy.render --listen 80 \\
        --http 127.0.0.1:8001 --ws 127.0.0.1:8101 --ws 127.0.0.1:8102 \\
        --static-root /srv/sockets/staticfiles --user www-data > /etc/sockets/nginx.conf

`--engine` is the site's PLAYGROUND_ENGINE: `workers` (the default, as in
deploy/env.example) spreads WebSockets over the front ends (least_conn); `local`
keeps each client address on one front end (hash), where its sandboxes live.

tests/test_deploy_live.py and bench/pages.py call `render()` with free ports.
"""

import argparse
import getpass
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
# Debian's libnginx-mod-http-headers-more-filter, so that no Server header names nginx.
HEADERS_MORE = "ngx_http_headers_more_filter_module.so"
WS_BALANCE = {"workers": "least_conn;", "local": "hash $remote_addr consistent;"}


def render(
    *,
    listen: str,
    http: list[str],
    ws: list[str],
    static_root: str | Path,
    engine: str = "workers",
    user: str | None = None,
    access_log: str = "off",
    mime_types: str = "/etc/nginx/mime.types",
    tls_listen: str | None = None,
    tls_certificate: str | None = None,
    tls_key: str | None = None,
    modules_dir: str | Path = "/usr/lib/nginx/modules",
) -> str:
    """The config; with `tls_listen` (e.g. "443") nginx also serves HTTPS there.

    X-Forwarded-Proto is the scheme of each request, so with DJANGO_SECURE=1 the site
    redirects plain HTTP to HTTPS itself.
    """
    if not http or not ws:
        raise ValueError("at least one HTTP server and one WebSocket server are needed")
    if engine not in WS_BALANCE:
        raise ValueError(f"engine must be one of {sorted(WS_BALANCE)}, not {engine!r}")
    lines = [f"        listen {listen};"]
    if tls_listen:
        if not (tls_certificate and tls_key):
            raise ValueError("HTTPS needs a certificate and its key")
        lines += [
            f"        listen {tls_listen} ssl http2;",
            f"        ssl_certificate {tls_certificate};",
            f"        ssl_certificate_key {tls_key};",
            "        ssl_protocols TLSv1.2 TLSv1.3;",
        ]
    values = {
        "LISTEN": "\n".join(lines),
        "HTTP_SERVERS": "\n".join(f"        server {address};" for address in http),
        "WS_SERVERS": "\n".join(f"        server {address};" for address in ws),
        "WS_BALANCE": f"        {WS_BALANCE[engine]}",
        "STATIC_ROOT": str(static_root).rstrip("/"),
        "USER": user or getpass.getuser(),
        "ACCESS_LOG": access_log,
        "MIME_TYPES": mime_types,
        "HEADERS_MORE_MODULE": str(Path(modules_dir) / HEADERS_MORE),
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    if "@" in text.replace("$", ""):
        leftover = [line for line in text.splitlines() if "@" in line]
        raise ValueError(f"unfilled placeholders: {leftover}")
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="80", help="address:port or port nginx listens on")
    parser.add_argument("--http", action="append", required=True, help="an HTTP worker address")
    parser.add_argument("--ws", action="append", required=True, help="a Daphne address")
    parser.add_argument("--static-root", required=True, help="DJANGO_STATIC_ROOT")
    parser.add_argument("--engine", choices=sorted(WS_BALANCE), default="workers",
                        help="the site's PLAYGROUND_ENGINE (default: workers)")  # fmt: skip
    parser.add_argument("--user", help="user of nginx's workers (default: the current user)")
    parser.add_argument("--access-log", default="off", help='a path, or "off"')
    parser.add_argument("--tls-listen", help="port for HTTPS, e.g. 443 (with the next two)")
    parser.add_argument("--tls-certificate", help="certificate chain file (PEM)")
    parser.add_argument("--tls-key", help="its private key file (PEM)")
    parser.add_argument("--modules-dir", default="/usr/lib/nginx/modules",
                        help=f"directory holding {HEADERS_MORE}")  # fmt: skip
    args = parser.parse_args(argv)
    sys.stdout.write(
        render(
            listen=args.listen,
            http=args.http,
            ws=args.ws,
            static_root=args.static_root,
            engine=args.engine,
            user=args.user,
            access_log=args.access_log,
            tls_listen=args.tls_listen,
            tls_certificate=args.tls_certificate,
            tls_key=args.tls_key,
            modules_dir=args.modules_dir,
        )
    )


if __name__ == "__main__":
    main()
