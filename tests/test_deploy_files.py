"""The files of deploy/ as the tools that read them see them: systemd's own verifier
for the units, nginx's own check for the rendered config."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.render import render
from tests.live_server import ROOT
from tests.procfile import commands
from tests.services import missing
from tests.test_deploy_live import NGINX

UNITS = ROOT / "deploy" / "systemd"


@pytest.fixture
def installed_units(tmp_path):
    """The units as installed: /srv/sockets is this checkout and its .venv."""
    venv = Path(sys.executable).parent.parent
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/srv/sockets/.venv", str(venv))
        (tmp_path / unit.name).write_text(text.replace("/srv/sockets", str(ROOT)))
    # Templates are verified as the instances sockets.target starts.
    for template, instance in (("sockets-ws@", "8101"), ("sockets-playground@", "1")):
        shutil.copy(tmp_path / f"{template}.service", tmp_path / f"{template}{instance}.service")
    return tmp_path


def test_it_has_systemd_units_that_systemd_verifies(installed_units):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing("Checking the units needs systemd-analyze: `sudo apt-get install systemd`.")
    names = sorted(p.name for p in installed_units.iterdir() if not p.name.endswith("@.service"))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *names],
        cwd=installed_units,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Unknown keys and bad values are only warnings for systemd: none is allowed here.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_it_starts_every_procfile_process_under_systemd_too():
    target = (UNITS / "sockets.target").read_text()
    processes = commands()
    kinds = {name.rstrip("0123456789") for name in processes} - {"redis"}  # Debian's own
    unit_of = {
        "http": "sockets-http.service",
        "ws": "sockets-ws@",
        "worker": "sockets-playground@",
        "nginx": "sockets-nginx.service",
    }
    assert kinds == set(unit_of)
    for unit in unit_of.values():
        assert unit in target, unit
    assert target.count("sockets-playground@") == sum(n.startswith("worker") for n in processes)


@pytest.mark.parametrize(("engine", "balance"), [("workers", "least_conn;"), ("local", "hash")])
def test_it_renders_an_nginx_config_that_nginx_accepts(tmp_path, engine, balance):
    if NGINX is None:
        missing("Checking the nginx config needs Debian's nginx: `sudo apt-get install nginx`.")
    config = render(
        listen="127.0.0.1:8080",
        http=["127.0.0.1:8001"],
        ws=["127.0.0.1:8101", "127.0.0.1:8102"],
        static_root=tmp_path / "static",
        engine=engine,
    )
    upstream = config.split("upstream sockets_ws {", 1)[1].split("}", 1)[0]
    assert balance in upstream
    (tmp_path / "tmp").mkdir()
    (tmp_path / "nginx.conf").write_text(config)
    result = subprocess.run(
        [
            NGINX,
            "-t",
            "-q",
            "-e",
            "stderr",
            "-c",
            str(tmp_path / "nginx.conf"),
            "-p",
            f"{tmp_path}/",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_it_refuses_to_render_for_an_unknown_engine():
    with pytest.raises(ValueError, match="engine"):
        render(listen="80", http=["a:1"], ws=["b:2"], static_root="/s", engine="cluster")
