"""The ops, declared once (playground.wire.protocol.OPS), as the page reads them: each
form of templates/playground/_forms.html has exactly the inputs its op declares, each
input fills a field the op takes, and the words name only what the page has. Plain
data: the OPS table and the template's text."""

import re

from playground.wire.protocol import OPS, page_ops
from tests.support.paths import ROOT

TESTS = {"present", "truthy", "is", "is_not"}
# What the page's words may name besides the command's fields: its answer, the answer's
# socket row and the started experiment.
CONTEXT = {"command", "event", "socket", "experiment"}


def template_forms() -> dict[str, set[str]]:
    """Each form of the template: its op -> the names of its inputs and selects."""
    text = (ROOT / "playground" / "templates" / "playground" / "_forms.html").read_text()
    forms = re.findall(r'<form data-op="([\w.]+)"(.*?)</form>', text, re.S)
    return {op: set(re.findall(r'\bname="(\w+)"', body)) for op, body in forms}


def takes(op: str, path: str) -> bool:
    spec = {**OPS[op].fields, **OPS[op].optional}
    for key in path.split("."):
        if not isinstance(spec, dict) or key not in spec:
            return False
        spec = spec[key]
    return True


def test_it_reads_each_form_by_its_op_s_inputs():
    forms = template_forms()
    assert forms, "no form found in _forms.html"
    pages = page_ops()
    assert set(forms) == {op for op, page in pages.items() if page["form"]}
    for op, names in forms.items():
        assert names == {i["name"] for i in pages[op]["form"]}, op
        for i in pages[op]["form"]:
            assert takes(op, i["field"]), (op, i["field"])
            assert i["read"] in {"text", "number", "ticked", "unticked", "number_or_default"}


def test_it_has_words_for_every_op_naming_only_what_the_page_has():
    for op, page in page_ops().items():
        assert page["words"], op
        for phrase in page["words"]:
            for paths in re.findall(r"\{([\w.|]+)\}", phrase["text"]):
                for path in paths.split("|"):
                    root, _, rest = path.partition(".")
                    assert root in CONTEXT, (op, path)
                    assert root != "command" or rest == "op" or takes(op, rest), (op, path)
            when = phrase["when"]
            if when is not None:
                assert set(when) - {"path"} <= TESTS and len(when) == 2, (op, when)
                assert when["path"].partition(".")[0] in CONTEXT, (op, when)
