"""The scaled site on one host, in one command: `make serve-scaled`.

    make serve-scaled                              # http://127.0.0.1:8080
    HOST=0.0.0.0 PORT=80 make serve-scaled         # for others too (see docs/deploy.md)

Rules:
- Settings come from the environment, then .env (as honcho reads it: .env wins), with
  deploy/Procfile's port variables at their defaults. Three are forced, because the
  topology needs them: PLAYGROUND_ENGINE=pool, REDIS_URL naming the Procfile's own
  Redis, DJANGO_BEHIND_PROXY=1 (nginx replaces X-Forwarded-For). They are written to
  $NGINX_DIR/scaled.env, which honcho reads after .env, so a .env cannot undo them.
- The database is whatever DATABASE_URL names: PostgreSQL when it names one (pooled,
  DATABASE_POOL=1, unless set), else the settings' SQLite file.
- A port already taken stops it before anything starts, naming its variable: the
  machine's own Redis on 6379 is the usual one.
- The site is set up first (migrate, load_course, collectstatic) without Redis: the
  Procfile's Redis starts empty, so no page cached before this run can be served stale.
- nginx's config is rendered into $NGINX_DIR (default run/) for the pool engine, and
  then this process becomes `honcho start -f deploy/Procfile -d .`: Ctrl-C (or SIGTERM)
  stops every process, sandbox processes draining their visitors.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from deploy.render import render

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "deploy" / "Procfile"
# nginx's port is rendered into its config, not read by a Procfile line.
NGINX_PORT = ("PORT", 8080)
# The Procfile's own `${NAME_PORT:-1234}`: every port it uses, sandbox processes added too.
PORT_VARIABLE = re.compile(r"\$\{(\w+_PORT):-(\d+)\}")


def procfile_ports() -> dict[str, int]:
    """Each port variable deploy/Procfile names, with its default."""
    found = PORT_VARIABLE.findall(PROCFILE.read_text())
    return {name: int(default) for name, default in found}


def read_dotenv(path: Path) -> dict[str, str]:
    """The variables of `path` as honcho reads them (none when it does not exist)."""
    from honcho.environ import parse

    return parse(path.read_text()) if path.exists() else {}


def environment(base: dict[str, str], dotenv: dict[str, str]) -> tuple[dict, dict]:
    """(every process's environment, the forced settings) for `base` and .env."""
    env = {**base, **dotenv}
    for name, default in (NGINX_PORT, *procfile_ports().items()):
        env.setdefault(name, str(default))
    env.setdefault("HOST", "127.0.0.1")
    if env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        env.setdefault("DATABASE_POOL", "1")
    static_root = ROOT / env.get("DJANGO_STATIC_ROOT", "staticfiles")  # relative: to ROOT
    forced = {
        "PLAYGROUND_ENGINE": "pool",
        "REDIS_URL": f"redis://127.0.0.1:{env['REDIS_PORT']}/0",
        "DJANGO_BEHIND_PROXY": "1",
        "DJANGO_STATIC_ROOT": str(static_root),
        "NGINX_DIR": str(ROOT / env.get("NGINX_DIR", "run")),
    }
    # Debian puts nginx in /usr/sbin, which a user's PATH may lack.
    if shutil.which("nginx", path=env.get("PATH")) is None and Path("/usr/sbin/nginx").exists():
        env["PATH"] = f"{env.get('PATH', '')}:/usr/sbin"
    return {**env, **forced}, forced


def ports_taken(env: dict[str, str]) -> list[str]:
    """The port variables whose port something else already listens on."""
    taken = []
    for name in (NGINX_PORT[0], *procfile_ports()):
        host = env["HOST"] if name == NGINX_PORT[0] else "127.0.0.1"
        with socket.socket() as probe:
            try:
                probe.bind((host, int(env[name])))
            except OSError:
                taken.append(f"{name}={env[name]}")
    return taken


def set_up(env: dict[str, str]) -> None:
    """migrate, load_course and collectstatic, as `make run` does, without Redis."""
    quiet = {k: v for k, v in env.items() if k != "REDIS_URL"}
    quiet["PLAYGROUND_ENGINE"] = "local"
    for command in (
        ["migrate", "--noinput"],
        ["load_course"],
        ["collectstatic", "--noinput", "--verbosity", "0"],
    ):
        argv = [sys.executable, "manage.py", *command]
        result = subprocess.run(argv, cwd=ROOT, env=quiet)  # noqa: S603 - our own fixed command
        if result.returncode:
            raise SystemExit(f"serve-scaled: manage.py {command[0]} failed ({result.returncode})")


def write_nginx_config(env: dict[str, str]) -> Path:
    directory = Path(env["NGINX_DIR"])
    (directory / "tmp").mkdir(parents=True, exist_ok=True)
    config = directory / "nginx.conf"
    config.write_text(
        render(
            listen=f"{env['HOST']}:{env['PORT']}",
            http=[f"127.0.0.1:{env['HTTP_PORT']}"],
            static_root=env["DJANGO_STATIC_ROOT"],
            engine="pool",
            # "start worker process": nginx says it is ready, as every other process does.
            log_level="notice",
        )
    )
    return config


def main() -> None:
    env, forced = environment(dict(os.environ), read_dotenv(ROOT / ".env"))
    for program in ("nginx", "redis-server"):
        if shutil.which(program, path=env.get("PATH")) is None:
            raise SystemExit(
                f"serve-scaled needs {program}: sudo apt-get install nginx "
                "libnginx-mod-http-headers-more-filter redis-server"
            )
    taken = ports_taken(env)
    if taken:
        raise SystemExit(
            f"serve-scaled: port(s) already in use: {', '.join(taken)}; "
            "move them, e.g. REDIS_PORT=6380 make serve-scaled"
        )
    set_up(env)
    write_nginx_config(env)
    forced_file = Path(env["NGINX_DIR"]) / "scaled.env"
    forced_file.write_text("".join(f"{name}={value}\n" for name, value in forced.items()))
    database = env.get("DATABASE_URL", "").split("@")[-1] or "SQLite (db.sqlite3)"
    sandboxes = ", ".join(env[name] for name in procfile_ports() if name.startswith("SANDBOX"))
    print(
        f"Sockets, scaled: http://{env['HOST']}:{env['PORT']}/ (nginx), HTTP workers on "
        f"{env['HTTP_PORT']}, sandbox processes on {sandboxes}, Redis on {env['REDIS_PORT']}, "
        f"database {database}. Ctrl-C stops them all.",
        flush=True,
    )
    honcho = str(Path(sys.executable).parent / "honcho")
    os.chdir(ROOT)
    argv = [honcho, "start", "-f", "deploy/Procfile", "-d", ".", "-e", f".env,{forced_file}"]
    os.execve(honcho, argv, env)  # noqa: S606 - honcho runs the Procfile's lines itself


if __name__ == "__main__":
    main()
