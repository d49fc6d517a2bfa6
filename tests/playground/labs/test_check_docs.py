"""docs/labs.md documents the check language as the code declares it: its Kinds, Socket
keys and Packet keys tables name every kind and key of playground.labs.checks, in table
order and no others, and every example there is a valid check using what its row names."""

import re

import pytest
import yaml

from playground.labs.checks import KINDS, PACKET_KEYS, SOCKET_KEYS, check_errors
from tests.support.paths import ROOT

DOC = (ROOT / "docs" / "labs.md").read_text()
TABLES = {"Kinds": KINDS, "Socket keys": SOCKET_KEYS, "Packet keys": PACKET_KEYS}


def rows(section: str) -> list[tuple[str, str]]:
    """(name, example) for each row of a section's table: its first and last cells."""
    text = DOC.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    cells = [line.strip("|").split(" | ") for line in text.splitlines() if line.startswith("| `")]
    return [(re.fullmatch(r"`(\w+)`", row[0].strip()).group(1), row[-1].strip()) for row in cells]


@pytest.mark.parametrize("section", TABLES)
def test_it_documents_every_name_of_the_table_and_no_other(section):
    assert [name for name, _ in rows(section)] == list(TABLES[section])


@pytest.mark.parametrize("section", TABLES)
def test_it_gives_each_name_a_valid_example_that_uses_it(section):
    for name, example in rows(section):
        check = yaml.safe_load(example.strip("`"))
        assert check_errors(check) == [], (name, example)
        assert re.search(rf"\b{name}:", example), (name, example)
