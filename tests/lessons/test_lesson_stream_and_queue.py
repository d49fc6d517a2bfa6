"""Where learners get stuck (the review of 2026-12-04, section 2): TCP as a byte stream,
half-close, connect() on a UDP socket, a dropped SYN against a refused one, SIGPIPE and the
accept queue. Each is taught in a section of its own with what Linux showed when it was
tried, asked in its lesson's quiz, and the two new diagrams are text a screen reader reads."""

import re
from html import unescape

import pytest

from lessons.models import GlossaryTerm, Lesson, Question
from tests.lessons.test_article_coverage import plain_text
from tests.lessons.test_course_corrections import section

# (lesson, section anchor): facts the section states, each measured on Linux.
SECTIONS = {
    ("sockets", "tcp-is-a-byte-stream"): [
        r"b'GET /one\nGET /two\n'",
        "sendall()",
        "3,919,467",
        "A length prefix",
        "each recvfrom() returns exactly one datagram",
    ],
    ("sockets", "half-close-shutdown"): [
        "shutdown(socket.SHUT_WR)",
        "CLOSE-WAIT",
        "FIN-WAIT-2",
        "still send",
        "last descriptor",
        "Shut down sending",
    ],
    ("connections", "connect-on-a-udp-socket"): [
        "Nothing is sent",
        "OutDatagrams",
        "UdpNoPorts",
        "next call",
        "[Errno 111] Connection refused",
        "unconnected: no error, no answer",
    ],
    ("connections", "the-accept-queue"): [
        "listen(backlog)",
        "net.core.somaxconn",
        "one more than the backlog",
        "the SYN is dropped",
        "does not refuse",
        "['connected', 'connected', 'timed out', 'timed out']",
        "SYN-SENT",
    ],
    ("connections", "refused-or-no-answer-at-all"): [
        "net.ipv4.tcp_syn_retries",
        "134 seconds",
        "[Errno 110] Connection timed out",
        "reject with tcp reset",
        "TimeoutError: timed out",
    ],
    ("connections", "broken-pipes-epipe-and-sigpipe"): [
        "[Errno 32] Broken pipe",
        "SIGPIPE",
        "141",
        "MSG_NOSIGNAL",
        "BrokenPipeError",
    ],
}


@pytest.mark.django_db
def test_it_teaches_each_concept_in_its_own_section_with_what_linux_showed(course):
    for (slug, anchor), facts in SECTIONS.items():
        text = plain_text(section(Lesson.objects.get(slug=slug).body_html, anchor))
        for fact in facts:
            assert fact in text, (anchor, fact)


@pytest.mark.django_db
def test_it_no_longer_reads_one_message_with_a_single_recv(course):
    body = Lesson.objects.get(slug="sockets").body
    assert "request = conn.recv(1024)" not in body
    assert "print(client.recv(1024))  # b'HELLO, SERVER'" not in body


@pytest.mark.django_db
def test_it_asks_about_each_new_section_with_feedback_on_every_choice(course):
    for slug, anchor in SECTIONS:
        single = Question.objects.filter(lesson__slug=slug, anchor=anchor, kind="single")
        questions = list(single.prefetch_related("choices"))
        assert questions, anchor
        for question in questions:
            choices = list(question.choices.all())
            assert sum(c.is_correct for c in choices) == 1, question.key
            assert len(choices) >= 4 and all(c.feedback for c in choices), question.key


@pytest.mark.django_db
def test_it_asks_how_many_connections_listen_1_lets_wait(course):
    question = Question.objects.get(key="connections-waiting-with-backlog-one")
    assert question.number_answer == 2 and question.anchor == "the-accept-queue"
    assert {w["answer"] for w in question.wrong_answers} >= {0, 1}


FIGURES = {
    ("sockets", "calls"): ["socket()", "bind()", "listen()", "accept()", "connect()", "SYN"],
    ("connections", "queue"): ["SYN queue", "accept queue", "accept()", "somaxconn"],
}


@pytest.mark.django_db
def test_it_draws_the_call_sequence_and_the_accept_queue_as_accessible_text(client, course):
    for (slug, name), words in FIGURES.items():
        page = client.get(f"/lessons/{slug}/").content.decode()
        figure = re.search(
            rf'<figure class="diagram narrow">\s*<svg [^>]*aria-labelledby="{name}-title '
            rf'{name}-desc"(.*?)</figure>',
            page,
            re.S,
        )
        assert figure, name
        body = figure[1]
        assert f'<title id="{name}-title">' in body and f'<desc id="{name}-desc">' in body
        assert "<figcaption>" in body
        labels = " ".join(unescape(t) for t in re.findall(r"<text[^>]*>([^<]+)</text>", body))
        for word in words:
            assert word in labels, (name, word)
    # What a full queue does is written out, not told by the red arrow alone.
    assert "dropped: no SYN-ACK, no RST" in labels


@pytest.mark.django_db
def test_it_defines_the_new_words_and_links_them_from_the_lessons(course):
    lessons = " ".join(Lesson.objects.values_list("body_html", flat=True))
    for slug in ("byte-stream", "half-close", "etimedout", "sigpipe"):
        assert GlossaryTerm.objects.filter(slug=slug).exists(), slug
        assert f'href="/glossary/#{slug}"' in lessons, slug
