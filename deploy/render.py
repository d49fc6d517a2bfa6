"""Fill in deploy/nginx.conf.template: the only thing that differs between hosts.

    .venv/bin/python -m deploy.render --listen 80 --http 127.0.0.1:8001 \\
        --static-root /srv/sockets/staticfiles --user www-data > /etc/sockets/nginx.conf

`--engine` is the site's PLAYGROUND_ENGINE. `pool` (the default, as in
deploy/env.example) routes each WebSocket to the sandbox process that holds its
session's sandbox, asking the route view on the HTTP workers where that is
(`auth_request`): nginx lists no sandbox process, so adding one changes nothing here.
`local` proxies every WebSocket to the one Daphne that holds every sandbox (`--ws`).

deploy/scaled.py (`make serve-scaled`), tests/support/deploy_servers.py and bench/pages.py call
`render()`.
"""

import argparse
import getpass
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
# Debian's libnginx-mod-http-headers-more-filter, so that no Server header names nginx.
HEADERS_MORE = "ngx_http_headers_more_filter_module.so"
ENGINES = ("pool", "local")
# A block of the template kept for one engine only: "@if pool@" ... "@end@", own lines.
ENGINE_BLOCK = re.compile(r"^@if (\w+)@\n(.*?)^@end@\n", re.MULTILINE | re.DOTALL)
# What render() fills in; nginx's own named locations (@name, lower case) stay.
PLACEHOLDER = re.compile(r"@(?:[A-Z_]+|if \w+|end)@")


def render(
    *,
    listen: str,
    http: list[str],
    static_root: str | Path,
    engine: str = "pool",
    ws: str | None = None,
    user: str | None = None,
    access_log: str = "off",
    log_level: str = "warn",
    mime_types: str = "/etc/nginx/mime.types",
    tls_listen: str | None = None,
    tls_certificate: str | None = None,
    tls_key: str | None = None,
    modules_dir: str | Path = "/usr/lib/nginx/modules",
    upgrade_rate: int = 10,
) -> str:
    """The config; with `tls_listen` (e.g. "443") nginx also serves HTTPS there.

    `ws` is the local engine's Daphne ("127.0.0.1:8101"); the pool engine takes none.
    `log_level` "notice" also logs "start worker process", nginx's sign it is ready.
    `upgrade_rate`: WebSocket upgrades a second per client address (pool), with bursts
    of six seconds' worth (a bench lifts it: all its clients are one address).
    X-Forwarded-Proto is the scheme of each request, so with DJANGO_SECURE=1 the site
    redirects plain HTTP to HTTPS itself.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {sorted(ENGINES)}, not {engine!r}")
    if not http:
        raise ValueError("at least one HTTP server is needed")
    if engine == "local" and not ws:
        raise ValueError("the local engine needs its Daphne's address (ws)")
    if engine == "pool" and ws:
        raise ValueError("the pool engine takes no WebSocket server: the route view names it")
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
        "WS_SERVER": ws or "",
        "STATIC_ROOT": str(static_root).rstrip("/"),
        "USER": user or getpass.getuser(),
        "ACCESS_LOG": access_log,
        "LOG_LEVEL": log_level,
        "MIME_TYPES": mime_types,
        "HEADERS_MORE_MODULE": str(Path(modules_dir) / HEADERS_MORE),
        "UPGRADE_RATE": str(int(upgrade_rate)),
        "UPGRADE_BURST": str(int(upgrade_rate) * 6),
    }
    text = ENGINE_BLOCK.sub(
        lambda block: block.group(2) if block.group(1) == engine else "", TEMPLATE.read_text()
    )
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    leftover = [line for line in text.splitlines() if PLACEHOLDER.search(line)]
    if leftover:
        raise ValueError(f"unfilled placeholders: {leftover}")
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="80", help="address:port or port nginx listens on")
    parser.add_argument("--http", action="append", required=True, help="an HTTP worker address")
    parser.add_argument("--engine", choices=ENGINES, default="pool",
                        help="the site's PLAYGROUND_ENGINE (default: pool)")  # fmt: skip
    parser.add_argument("--ws", help="the local engine's Daphne address, e.g. 127.0.0.1:8101")
    parser.add_argument("--static-root", required=True, help="DJANGO_STATIC_ROOT")
    parser.add_argument("--user", help="user of nginx's workers (default: the current user)")
    parser.add_argument("--access-log", default="off", help='a path, or "off"')
    parser.add_argument("--log-level", default="warn", help="of nginx's error log (stderr)")
    parser.add_argument("--tls-listen", help="port for HTTPS, e.g. 443 (with the next two)")
    parser.add_argument("--tls-certificate", help="certificate chain file (PEM)")
    parser.add_argument("--tls-key", help="its private key file (PEM)")
    parser.add_argument("--upgrade-rate", type=int, default=10,
                        help="WebSocket upgrades a second per client address (pool)")  # fmt: skip
    parser.add_argument("--modules-dir", default="/usr/lib/nginx/modules",
                        help=f"directory holding {HEADERS_MORE}")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        config = render(
            listen=args.listen,
            http=args.http,
            static_root=args.static_root,
            engine=args.engine,
            ws=args.ws,
            user=args.user,
            access_log=args.access_log,
            log_level=args.log_level,
            tls_listen=args.tls_listen,
            tls_certificate=args.tls_certificate,
            tls_key=args.tls_key,
            modules_dir=args.modules_dir,
            upgrade_rate=args.upgrade_rate,
        )
    except ValueError as error:
        parser.error(str(error))
    sys.stdout.write(config)


if __name__ == "__main__":
    main()
