"""Read forms out of pages the way a browser would, for tests that submit them."""

import re
from html import escape
from html.parser import HTMLParser

from lessons.models import Question


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._textarea = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind in ("submit", "button", "file") or "__prefix__" in name:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.data.setdefault(name, []).append(attrs.get("value", default))
        elif "__prefix__" in (name or ""):
            return
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += (
                data.lstrip("\n") if not self.data[self._textarea][0] else data
            )


def form_fields(html: str) -> dict[str, list[str]]:
    reader = _FormReader()
    reader.feed(html)
    return reader.data


def post_data(html: str) -> dict:
    """The form's fields as the test client posts them (lists for repeated names)."""
    return {
        name: values if len(values) > 1 else values[0] for name, values in form_fields(html).items()
    }


def page_token(html: str) -> str:
    """The signed token that names the attempt a quiz page offers."""
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def question_order(html: str) -> list[str]:
    return re.findall(r'name="(q\d+)"', html)


def right_answer(question: Question) -> list[str]:
    if question.kind in ("single", "multiple", "true_false"):
        return [str(c.pk) for c in question.choices.all() if c.is_correct]
    if question.kind == "text":
        return [question.accepted[0]]
    return [str(question.number_answer)]


def wrong_answer(question: Question) -> list[str]:
    if question.kind in ("single", "true_false"):
        return [str(next(c.pk for c in question.choices.all() if not c.is_correct))]
    if question.kind == "multiple":
        return [str(c.pk) for c in question.choices.all() if not c.is_correct]
    if question.kind == "text":
        return ["definitely not this"]
    return [str(question.number_answer + question.tolerance + 1000)]


def submission(html: str, quiz, wrong: set[str] = frozenset()) -> dict:
    """POST data answering every question on the page; keys in `wrong` answered wrongly."""
    data = {
        "token": page_token(html),
        "csrfmiddlewaretoken": form_fields(html)["csrfmiddlewaretoken"][0],
    }
    questions = {f"q{q.pk}": q for q in quiz.questions.prefetch_related("choices")}
    for name in dict.fromkeys(question_order(html)):
        question = questions[name]
        data[name] = wrong_answer(question) if question.key in wrong else right_answer(question)
    return data


def without_lab_questions(quiz):
    """The quiz without its lab questions, for tests of the form and its grading: a lab
    question is answered in the playground, graded from the live sandbox, and tested so
    in tests/labs/test_quiz.py."""
    Question.objects.filter(quiz=quiz, kind="lab").delete()
    return quiz


def form_in(html: str, page_url: str, css_class: str) -> tuple[str, str]:
    """(the URL a browser posts the form of this class to, the form's markup): its
    action, or the page's own URL when it has none, as a browser resolves it."""
    from urllib.parse import urljoin

    found = re.search(
        rf'<form\b[^>]*class="[^"]*\b{re.escape(css_class)}\b[^"]*"[^>]*>(.*?)</form>',
        html,
        re.S,
    )
    assert found, f"no form of class {css_class!r} in the page"
    action = re.search(r'\baction="([^"]*)"', found.group(0)[: found.start(1) - found.start()])
    return urljoin(page_url, action.group(1) if action else ""), found.group(1)


def assert_no_answer_key(page: str, quiz) -> None:
    """The quiz page holds its choices but nothing that tells the right one: no
    explanation, no feedback, no accepted answer, no markup naming the correct choice."""
    for question in quiz.questions.prefetch_related("choices"):
        assert escape(question.explanation) not in page
        for choice in question.choices.all():
            assert escape(choice.text) in page
            if choice.feedback:
                assert escape(choice.feedback) not in page
        for accepted in question.accepted:
            assert f">{accepted}<" not in page and f'"{accepted}"' not in page
        for wrong in question.wrong_answers:
            assert escape(wrong["feedback"]) not in page
    markup = r'data-[\w-]*correct|is[_-]correct|class="[^"]*(correct|explanation|feedback)'
    assert not re.search(markup, page, re.I)
