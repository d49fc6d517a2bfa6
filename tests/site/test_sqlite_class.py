"""The embedded default holds a class: SQLite as the settings open it (WAL, write
transactions that take the lock when they begin, a busy timeout) lets several server
processes write while a long read is open, with no "database is locked".

Every process here opens the database through sockets_site.settings, as a Daphne of
`make run` does; the table is a plain one so no migration is needed.
"""

import subprocess
import sys

from tests.support.live_server import ROOT, site_env

WRITERS = 4
WRITES = 40

SETUP = """
import django; django.setup()
from django.db import connection
with connection.cursor() as c:
    c.execute("PRAGMA journal_mode")
    print(c.fetchone()[0])
    c.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY, n INTEGER, text TEXT)")
    rows = [(i, "x" * 200) for i in range(5000)]
    c.executemany("INSERT INTO answers (n, text) VALUES (%s, %s)", rows)
"""

# Reads the table in one statement, stopping half-way until told to finish: the read
# (its snapshot, or in the old journal mode its shared lock) stays open meanwhile.
READER = """
import sys
import django; django.setup()
from django.db import connection
cursor = connection.cursor()
cursor.execute("SELECT n FROM answers ORDER BY id")
first = cursor.fetchmany(10)
print("reading", flush=True)
sys.stdin.readline()
print("read", len(first) + len(cursor.fetchall()), flush=True)
"""

# Read-then-write transactions, as recording a quiz attempt is (count, then insert).
WRITER = """
import sys
import django; django.setup()
from django.db import connection, transaction
writes = int(sys.argv[1])
for i in range(writes):
    with transaction.atomic(), connection.cursor() as c:
        c.execute("SELECT COUNT(*) FROM answers")
        count = c.fetchone()[0]
        c.execute("INSERT INTO answers (n, text) VALUES (%s, %s)", [count, "written"])
print("wrote", writes)
"""


def python(code: str, env: dict, *args: str, **options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def test_it_lets_several_processes_write_while_a_long_read_is_open(tmp_path):
    env = site_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'class.sqlite3'}")
    setup = python(SETUP, env)
    out, err = setup.communicate()
    assert setup.returncode == 0, err
    assert out.split() == ["wal"]

    reader = python(READER, env, stdin=subprocess.PIPE)
    assert reader.stdout.readline().strip() == "reading"
    writers = [python(WRITER, env, str(WRITES)) for _ in range(WRITERS)]
    results = [writer.communicate() for writer in writers]
    out, err = reader.communicate("done\n")

    for writer, (written, error) in zip(writers, results, strict=True):
        assert "database is locked" not in error
        assert writer.returncode == 0 and written.split() == ["wrote", str(WRITES)], error
    # The read saw the table as it was when it began, whole.
    assert reader.returncode == 0 and out.split() == ["read", "5000"], err
    check = python(
        "import django; django.setup()\nfrom django.db import connection\n"
        "c = connection.cursor(); c.execute('SELECT COUNT(*), COUNT(DISTINCT n) FROM answers'); "
        "print(*c.fetchone())",
        env,
    )
    out, err = check.communicate()
    # Every write counted the ones before it: no two transactions overlapped.
    total = 5000 + WRITERS * WRITES
    assert out.split() == [str(total), str(total)], err
