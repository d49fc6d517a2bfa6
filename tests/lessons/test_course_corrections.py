"""The course keeps the article's words as quotations and never repeats its inaccuracies
as its own: every point of the teacher's review that a program can check."""

import json
import re
from html import unescape

import pytest

from labs.models import Experiment
from lessons.models import GlossaryTerm, Lesson, Question
from tests.lessons.test_article_coverage import article_sentences, plain_text

# Claims the course must not make in its own voice (quotations of the article excepted).
FALSE_CLAIMS = [
    r"never all five",
    r"name[sd]? (each|every|a|the) socket",
    r"five (facts|values|things) name",
    r"identical 5-tuple would mean the same socket",
    r"names a different socket",
    r"ports are,? (in concept,? )?eternal",
    r"port (itself )?is permanent",
    r"port \w+ exists (even )?(whether|with no|when)",
    r"outlives the socket",
    r"ready for the next server",
    r"no remote address yet",
    r"two programs first agree",
    r"must be explicitly started and ended",
    r"relative sequence numbers? (start|begin)s? (at|from) 1",
    r"(SYN|FIN) (takes|uses|counts as) no (sequence )?number",
    r"(an|the) RST is (acknowledged|answered)",
    r"\b(reset|RST)\b[^.]{0,40}\b(waits|ends) in TIME.WAIT",
]


def own_words(html: str) -> str:
    """A lesson's text without the quoted article passages."""
    return plain_text(re.sub(r"<blockquote>.*?</blockquote>", " ", html, flags=re.S))


def course_texts():
    for lesson in Lesson.objects.all():
        yield f"lesson {lesson.slug}", own_words(lesson.body_html) + " " + lesson.summary
    for term in GlossaryTerm.objects.all():
        yield f"glossary {term.slug}", term.definition
    for question in Question.objects.prefetch_related("choices"):
        parts = [question.prompt, question.hint, question.explanation]
        parts += [f"{c.text} {c.feedback}" for c in question.choices.all()]
        parts += [w["feedback"] for w in question.wrong_answers]
        parts += [step["text"] for step in question.lab_steps]
        yield f"question {question.key}", " ".join(parts)
    for experiment in Experiment.objects.prefetch_related("steps"):
        steps = " ".join(step.text for step in experiment.steps.all())
        yield f"experiment {experiment.slug}", f"{experiment.title} {steps}"


@pytest.mark.django_db
def test_it_makes_none_of_the_article_s_inaccurate_claims_in_its_own_words(course):
    from playground.wire.explain import refused

    texts = list(course_texts())
    assert any(where.startswith("experiment ") for where, _ in texts)
    texts.append(("playground refused", refused("server", ("127.0.0.1", 3000))))
    for where, text in texts:
        for claim in FALSE_CLAIMS:
            assert not re.search(claim, text, re.IGNORECASE), (where, claim)


@pytest.mark.django_db
def test_it_quotes_every_sentence_of_the_article_as_the_author_s_words(course):
    quoted = " ".join(
        plain_text(block)
        for lesson in Lesson.objects.all()
        for block in re.findall(r"<blockquote>(.*?)</blockquote>", lesson.body_html, re.S)
    )
    missing = [s for s in article_sentences() if s not in quoted]
    assert missing == []


@pytest.mark.django_db
def test_it_credits_the_article_at_the_top_of_the_course(client, course):
    page = client.get("/").content.decode()
    hero = page.split('class="hero"', 1)[1].split("</section>", 1)[0]
    assert "“Sockets” (31 August 2014)" in hero and "More precisely" in hero
    intro = Lesson.objects.get(slug="introduction").body_html
    first = plain_text(intro.split("</aside>", 1)[0])
    assert "“Sockets” (31 August 2014)" in first and "author" in first


@pytest.mark.django_db
def test_it_marks_a_more_precisely_note_in_every_lesson(course):
    for lesson in Lesson.objects.all():
        notes = re.findall(r'<aside class="more-precisely">(.*?)</aside>', lesson.body_html, re.S)
        assert notes, lesson.slug
        assert all("More precisely…" in note for note in notes), lesson.slug


@pytest.mark.django_db
def test_it_says_the_5_tuple_identifies_a_connection_not_a_socket(course):
    text = own_words(Lesson.objects.get(slug="the-5-tuple").body_html)
    assert "identify a connection, not a socket" in text
    for fact in ("SO_REUSEPORT", "0.0.0.0:*", "change over its life", "no remote part"):
        assert fact in text, fact
    definition = GlossaryTerm.objects.get(slug="5-tuple").definition
    assert "identify a connection" in definition and "SO_REUSEPORT" in definition


@pytest.mark.django_db
def test_it_shows_a_realistic_listener_and_documentation_addresses(course):
    body = Lesson.objects.get(slug="the-5-tuple").body
    table = [line for line in body.splitlines() if line.startswith("| Server, listening")]
    assert table and "0.0.0.0" in table[0]  # noqa: S104 - text, not a bind
    assert "rails server -b 0.0.0.0" in body and "localhost" in body
    # The article's real address stays in its quotation only, never in an example.
    for lesson in Lesson.objects.all():
        assert "50.247.131.163" not in own_words(lesson.body_html), lesson.slug
    for question in Question.objects.prefetch_related("choices"):
        texts = [question.prompt, *(c.text for c in question.choices.all())]
        assert not any("50.247.131.163" in t for t in texts), question.key


@pytest.mark.django_db
def test_it_teaches_what_the_article_leaves_out(course):
    lessons = {lesson.slug: own_words(lesson.body_html) for lesson in Lesson.objects.all()}
    expected = {
        "introduction": ["RFC 793", "file descriptor", "two technical meanings"],
        "connections": ["kernels do the handshake", "accept queue", "reset (RST)", "timeout"],
        "ports": ["A port is not a process", "separate sets of ports", "port 0", "Rails 4.2"],
        "sockets": ["TIME_WAIT", "EADDRINUSE", "SO_REUSEADDR", "file descriptor"],
        "the-5-tuple": ["32768", "60999", "49152", "65535", "wildcard address"],
    }
    for slug, facts in expected.items():
        for fact in facts:
            assert fact in lessons[slug], (slug, fact)


@pytest.mark.django_db
def test_it_answers_the_two_or_three_sockets_question_one_way(course):
    endpoints = Question.objects.get(key="sockets-in-one-connection")
    assert endpoints.number_answer == 2 and "endpoints" in endpoints.prompt
    key_idea = Lesson.objects.get(slug="sockets").body_html.split('class="key-idea"', 1)[1]
    assert "exactly two ends" in key_idea and "three sockets" in key_idea
    same = Question.objects.get(key="socket-is-not-a-connection")
    assert "two endpoints, each a socket" in same.explanation


@pytest.mark.django_db
def test_it_draws_the_tcp_timeline_as_accessible_text(client, course):
    page = client.get("/lessons/connections/").content.decode()
    figure = page.split('<figure class="diagram">', 1)[1].split("</figure>", 1)[0]
    svg = figure.split("<svg", 1)[1]
    assert 'role="img"' in svg and 'aria-labelledby="timeline-title timeline-desc"' in svg
    assert '<title id="timeline-title">' in svg and '<desc id="timeline-desc">' in svg
    labels = [unescape(t) for t in re.findall(r"<text[^>]*>([^<]+)</text>", svg)]
    for name in ("SYN", "SYN-ACK", "ACK", "FIN", "LISTEN", "ESTABLISHED", "TIME-WAIT"):
        assert name in labels, name
    for state in ("FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK"):
        assert state in labels, state
    assert "<img" not in figure and "lessons/lesson.css" in page


@pytest.mark.django_db
def test_it_has_glossary_entries_for_the_words_learners_get_stuck_on(course):
    slugs = set(GlossaryTerm.objects.values_list("slug", flat=True))
    for slug in (
        "handshake",
        "time-wait",
        "eaddrinuse",
        "econnrefused",
        "accepted-socket",
        "wildcard-address",
        "loopback-address",
        "datagram",
        "ephemeral-port",
    ):
        assert slug in slugs, slug
    ephemeral = GlossaryTerm.objects.get(slug="ephemeral-port").definition
    assert "32768" in ephemeral and "49152" in ephemeral and "UDP" in ephemeral
    port = GlossaryTerm.objects.get(slug="port").definition
    assert "not a process" in port and "TIME_WAIT" in port and "separate" in port


# The packet timeline (issue 13): what the Connections lesson says a learner will see,
# measured on Linux loopback, and the experiments that show it.
PACKET_SECTIONS = {
    "the-handshake-three-packets": "handshake-packets",
    "data-and-its-acknowledgement": "data-and-ack",
    "closing-fin-ack-and-who-waits": "who-waits",
    "aborting-rst": "reset-connection",
}
PACKET_TERMS = ("syn", "ack", "fin", "psh", "rst", "sequence-number", "acknowledgement-number")


def section(html: str, anchor: str) -> str:
    """The part of a page from a heading to the next heading of any level."""
    after = html.split(f'id="{anchor}"', 1)[1]
    return re.split(r"<h[23] id=", after, maxsplit=1)[0]


@pytest.mark.django_db
def test_it_says_what_each_packet_of_a_connection_shows(course):
    html = Lesson.objects.get(slug="connections").body_html
    expected = {
        "the-handshake-three-packets": ["seq 0", "seq 1, ack 1", "length 0", "SYN_SENT"],
        "data-and-its-acknowledgement": ["length 2", "PSH and ACK", "ack 3"],
        "closing-fin-ack-and-who-waits": [
            "seq 3",
            "ack 4",
            "ack 2",
            "FIN_WAIT1",
            "FIN_WAIT2",
            "CLOSE_WAIT",
            "LAST_ACK",
            "CLOSING",
            "TIME_WAIT",
            "60 seconds",
        ],
        "aborting-rst": ["SO_LINGER", "RST and ACK", "Nothing answers an RST", "ECONNRESET"],
    }
    for anchor, facts in expected.items():
        text = plain_text(section(html, anchor))
        for fact in facts:
            assert fact in text, (anchor, fact)
    # A refused connect sends no packet in the playground (its sandbox rule 2).
    ports = plain_text(Lesson.objects.get(slug="ports").body_html)
    assert "shows no packet for the refused connect" in ports
    intro = plain_text(section(html, "watch-the-packets"))
    for fact in ("relative sequence numbers", "counts as 0", "each take one number"):
        assert fact in intro, fact


@pytest.mark.django_db
def test_it_tries_each_packet_experiment_in_its_own_section_and_back(client, course):
    page = client.get("/lessons/connections/").content.decode()
    for anchor, slug in PACKET_SECTIONS.items():
        assert f'href="/playground/?experiment={slug}"' in section(page, anchor), slug
        experiment = Experiment.objects.get(slug=slug)
        assert (experiment.lesson.slug, experiment.anchor) == ("connections", anchor), slug
        checks = [json.dumps(step.step_check) for step in experiment.steps.all()]
        assert any('"packet"' in check for check in checks), slug


@pytest.mark.django_db
def test_it_names_in_each_packet_step_the_flags_it_checks(course):
    for slug in PACKET_SECTIONS.values():
        for step in Experiment.objects.get(slug=slug).steps.all():
            # A predict-then-check step names its flags once the kernel has answered (its
            # explanation), never before the learner acts; a picked packet's likewise.
            packet = step.step_check.get("packet") or step.step_check.get("picked", {}).get(
                "packet"
            )
            if packet is None:
                continue
            told = f"{step.text} {step.explain}"
            for flag in [*packet.get("flags", []), *packet.get("has", [])]:
                assert re.search(rf"\b{flag}\b", told), (slug, told, flag)


@pytest.mark.django_db
def test_it_defines_the_packet_words_and_links_each_from_a_lesson(course):
    lessons = " ".join(Lesson.objects.values_list("body_html", flat=True))
    for slug in (*PACKET_TERMS, "econnreset"):
        assert GlossaryTerm.objects.filter(slug=slug).exists(), slug
        assert f'href="/glossary/#{slug}"' in lessons, slug
    definitions = dict(GlossaryTerm.objects.values_list("slug", "definition"))
    assert "takes one sequence number" in definitions["syn"]
    assert "takes one sequence number" in definitions["fin"]
    assert "a side's SYN is 0, its first byte of data 1" in definitions["sequence-number"]
    assert "next sequence number its sender expects" in definitions["acknowledgement-number"]
    assert "SO_LINGER set to 0" in definitions["rst"] and "ECONNRESET" in definitions["rst"]


@pytest.mark.django_db
def test_it_asks_what_the_packet_timeline_shows(course):
    questions = {
        "second-packet-of-the-handshake": ("SYN and ACK", "the-handshake-three-packets"),
        "relative-number-of-the-fin": ("3", "closing-fin-ack-and-who-waits"),
        "what-a-reset-leaves": ("One RST packet", "aborting-rst"),
    }
    for key, (right, anchor) in questions.items():
        question = Question.objects.prefetch_related("choices").get(key=key)
        assert (question.quiz.lesson.slug, question.anchor) == ("connections", anchor), key
        assert question.kind == "single", key
        choices = list(question.choices.all())
        assert [c.text for c in choices if c.is_correct] == [
            next(c.text for c in choices if c.text.startswith(right))
        ], key
        # Every predictable wrong answer says why it is wrong.
        assert all(c.feedback for c in choices), key


@pytest.mark.django_db
def test_it_quotes_no_window_or_mss_size_it_did_not_measure(course):
    for where, text in course_texts():
        assert not re.search(r"\b(window|win|MSS)\b[^.]{0,20}\d{3,}", text), where


# The review of 2026-12-04, section 1: its false sentences (F1-F7) and the imprecisions
# (I1-I21) a program can check, in the lessons, the glossary and the playground's words.
def lesson_words(slug: str) -> str:
    return own_words(Lesson.objects.get(slug=slug).body_html)


def definition(slug: str) -> str:
    return GlossaryTerm.objects.get(slug=slug).definition


def own_texts():
    """The lessons (quotations excepted), their summaries and the glossary."""
    for lesson in Lesson.objects.all():
        yield f"lesson {lesson.slug}", own_words(lesson.body_html) + " " + lesson.summary
    for term in GlossaryTerm.objects.all():
        yield f"glossary {term.slug}", term.definition


def playground_words() -> str:
    from django.conf import settings

    from playground.vocabulary import vocabulary

    root = settings.BASE_DIR / "playground"
    files = [
        root / "templates" / "playground" / "index.html",
        *sorted((root / "static" / "playground").rglob("*.js")),
    ]
    # The page's words from the server's registries, which it carries as data.
    texts = [plain_text(path.read_text()) for path in files]
    return " ".join([*texts, plain_text(json.dumps(vocabulary()))])


@pytest.mark.django_db
def test_it_names_the_python_servers_that_really_set_so_reuseaddr(course):
    import http.server
    import socket
    import socketserver

    text = lesson_words("sockets")
    assert not re.search(r"socketserver`? and most web servers set it", text)
    assert "socketserver.TCPServer does not" in text and "allow_reuse_address" in text
    # What the lesson says, on this Python.
    assert socketserver.TCPServer.allow_reuse_address is False
    assert http.server.HTTPServer.allow_reuse_address
    with socket.create_server(("127.0.0.1", 0)) as server:
        assert server.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)


@pytest.mark.django_db
def test_it_asks_netcat_for_its_connection_refused_message(course):
    for where, text in course_texts():
        # Without -v, the netcat of Debian and Ubuntu prints nothing on a refusal.
        assert not re.search(r"\bnc (?!-z?v\b)[\w.]+ \d+\b[^.]*Connection refused", text), where
    assert "nc -v localhost 3001" in lesson_words("ports")


def test_it_says_the_sender_of_an_undelivered_datagram_is_told_by_icmp():
    from playground.wire.explain import no_udp_receiver

    message = no_udp_receiver("server", ("127.77.0.3", 5353))
    assert "never told" not in message
    assert "ICMP port unreachable" in message
    assert "a connected UDP socket hears of as ECONNREFUSED" in message


@pytest.mark.django_db
def test_it_says_the_sender_of_a_datagram_nobody_receives_can_hear_of_it(course):
    for where, text in course_texts():
        assert not re.search(r"sender is (never|not) told", text), where
    assert "ICMP" in definition("datagram") and "ECONNREFUSED" in definition("datagram")


def test_it_says_when_two_sockets_may_share_an_address_and_port():
    import errno
    import socket
    from types import SimpleNamespace

    from playground.wire.explain import os_error

    first = socket.socket()
    second = socket.socket()
    with first, second:
        first.bind(("127.0.0.1", 0))
        with pytest.raises(OSError) as taken:
            second.bind(first.getsockname())
        assert taken.value.errno == errno.EADDRINUSE
        holder = SimpleNamespace(id="s1", role="listener", protocol="tcp")
        code, message = os_error(taken.value, "server", *first.getsockname(), holder, [])
    assert code == "EADDRINUSE"
    assert "cannot both be bound" not in message
    assert "only if both set the SO_REUSEPORT option" in message
    # What the message says, on this kernel: with SO_REUSEPORT on both, they share it.
    first = socket.socket()
    second = socket.socket()
    with first, second:
        for sock in (first, second):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        first.bind(("127.0.0.1", 0))
        second.bind(first.getsockname())
        first.listen()
        second.listen()


@pytest.mark.django_db
def test_it_says_a_socket_lasts_until_its_last_descriptor_is_closed(course):
    for where, text in course_texts():
        assert not re.search(r"destroyed (together )?with its process", text), where
        assert not re.search(r"close\(\) destroys", text), where
    assert "The socket itself goes only when the last descriptor" in lesson_words("sockets")
    assert "last descriptor that refers to it" in definition("file-descriptor")


@pytest.mark.django_db
def test_it_says_what_connect_does_to_a_udp_socket(course):
    for where, text in course_texts():
        assert not re.search(r"only fixes (the|its) default", text), where
    for text in (lesson_words("connections"), definition("udp")):
        assert "only from that peer" in text and "ECONNREFUSED" in text


@pytest.mark.django_db
def test_it_says_close_sends_fin_only_for_the_last_descriptor(course):
    body = Lesson.objects.get(slug="sockets").body
    row = next(line for line in body.splitlines() if line.startswith("| `close()`"))
    assert "the kernel sends FIN and finishes" not in row
    assert "last one for the socket" in row and "RST" in row


@pytest.mark.django_db
def test_it_bounds_the_uniqueness_of_a_connection_by_its_network_namespace(course):
    for where, text in own_texts():
        assert not re.search(r"\b(on|in) (one|a single) host\b", text), where
    for where, text in course_texts():
        assert not re.search(r"no two (TCP )?connections[^.]*\bone host\b", text), where
    assert "network namespace" in lesson_words("the-5-tuple")
    assert "network namespace" in definition("5-tuple")


@pytest.mark.django_db
def test_it_names_today_s_tcp_standard_beside_rfc_793(course):
    texts = [*own_texts(), ("playground page", playground_words())]
    assert any("RFC 793" in text for _, text in texts)
    for where, text in texts:
        assert "RFC 793" not in text or "RFC 9293" in text, where
    assert "RFC 147" in lesson_words("introduction")


@pytest.mark.django_db
def test_it_says_what_binding_a_port_below_1024_needs(course):
    for where, text in course_texts():
        assert "administrator rights" not in text, where
    ports = lesson_words("ports")
    assert "CAP_NET_BIND_SERVICE" in ports and "ip_unprivileged_port_start" in ports
    assert "CAP_NET_BIND_SERVICE" in definition("port")


def test_it_says_the_sandbox_s_port_range_is_its_own_rule():
    from playground.sandbox import arguments
    from playground.wire.errors import SandboxError

    with pytest.raises(SandboxError) as refused:
        arguments.port(80)
    assert refused.value.code == "bad_port"
    assert refused.value.message.startswith("In this sandbox, ports are")
    assert "Ports 1 to 1023 exist too" in refused.value.message


@pytest.mark.django_db
def test_it_never_says_a_port_alone_picks_the_socket(course):
    for where, text in course_texts():
        assert not re.search(r"\bport( number)?\b[^.;]{0,40}\bpicks? (out )?the socket", text), (
            where
        )
        assert not re.search(r"says which socket on a device", text), where
    assert "the socket of the connection it belongs to, or else the one listening" in (
        lesson_words("ports")
    )


@pytest.mark.django_db
def test_it_says_tcp_acknowledgements_are_cumulative_and_may_wait(course):
    for where, text in course_texts():
        assert not re.search(r"every segment,? (is |gets )?acknowledged", text), where
    assert "one acknowledgement for several segments" in lesson_words("connections")


@pytest.mark.django_db
def test_it_says_fast_open_needs_a_cookie_from_an_earlier_connection(course):
    text = lesson_words("connections")
    assert "very first SYN" not in text
    assert "cookie" in text


@pytest.mark.django_db
def test_it_says_connect_returns_only_while_the_accept_queue_has_room(course):
    assert "as long as the listener's accept queue has room" in lesson_words("connections")
    queue = definition("accept-queue")
    assert "somaxconn" in queue and "they are not refused" in queue


@pytest.mark.django_db
def test_it_says_the_address_and_a_firewall_matter_to_a_refusal(course):
    ports = lesson_words("ports")
    assert "connects to an address and port where no socket listens" in ports
    assert "ETIMEDOUT" in ports


@pytest.mark.django_db
def test_it_keeps_the_finer_points_of_sockets_sharing_an_address(course):
    text = lesson_words("the-5-tuple")
    assert "SO_REUSEADDR" in text and "of the same user" in text
    assert "A new socket has none" not in text and "has only its protocol" in text
    for where, words in own_texts():
        assert "belongs to a network interface rather than" not in words, where


@pytest.mark.django_db
def test_it_says_a_connected_udp_socket_may_use_send(course):
    udp = definition("udp")
    assert "UDP socket sends with sendto(), a TCP socket with send()" not in udp
    assert "after connect() it may use send()" in udp


def test_it_calls_psh_a_request_that_receivers_need_not_wait_for():
    words = playground_words()
    assert "without waiting for more" not in words
    assert "push: the sender asks for the data to be passed on without delay" in words


@pytest.mark.django_db
def test_it_calls_psh_a_request_receivers_do_not_wait_for_in_the_glossary(course):
    psh = definition("psh")
    assert "hand the data to its program without waiting" not in psh
    assert "whether or not the flag is set" in psh


@pytest.mark.django_db
def test_it_shows_mirror_image_ends_only_where_no_nat_sits_between(course):
    for where, text in own_texts():
        for sentence in re.split(r"(?<=[.!?])\s", text):
            says_mirrored = re.search(r"mirror", sentence, re.I) and not re.search(
                r"\b(no longer|not)\b[^.]*mirror", sentence, re.I
            )
            if says_mirrored:
                assert "NAT" in sentence, (where, sentence)


@pytest.mark.django_db
def test_it_shows_each_lesson_on_your_own_machine(course):
    for lesson in Lesson.objects.all():
        assert 'id="on-your-own-machine"' in lesson.body_html, lesson.slug
        own = section(lesson.body_html, "on-your-own-machine")
        assert re.search(r"\b(ss|nc|tcpdump) -", plain_text(own)), lesson.slug


# The concepts the second review found missing (issue 20): where each is taught, and
# what its section must say.
DEEPER_SECTIONS = {
    ("the-5-tuple", "how-the-kernel-picks-the-socket-for-a-packet"): [
        "port number alone does not pick a TCP socket",
        "exact address comes before",
        "whoever sent it",
    ],
    ("the-5-tuple", "behind-a-router-nat-rewrites-the-addresses"): [
        "no longer mirror images",
        "port forwarding",
        "203.0.113.1:55020",
    ],
    ("the-5-tuple", "sockets-with-no-address-and-no-port-unix-domain-sockets"): [
        "no IP address, no port",
        "ss -x",
        ".s.PGSQL.5432",
    ],
    ("ports", "ipv6-dual-stack-and-localhost"): [
        "IPV6_V6ONLY",
        "::ffff:127.0.0.1",
        "*:3000",
        "refused twice",
    ],
    ("sockets", "serving-many-clients-at-once"): [
        "last descriptor",
        "fork()",
        "epoll",
    ],
}


@pytest.mark.django_db
def test_it_teaches_demultiplexing_nat_ipv6_workers_and_unix_sockets(course):
    for (slug, anchor), facts in DEEPER_SECTIONS.items():
        text = plain_text(section(Lesson.objects.get(slug=slug).body_html, anchor))
        for fact in facts:
            assert fact in text, (slug, anchor, fact)
        teaching = Question.objects.filter(lesson__slug=slug, anchor=anchor)
        assert teaching.exists(), (slug, anchor)


@pytest.mark.django_db
def test_it_draws_demultiplexing_and_nat_as_accessible_text(client, course):
    page = client.get("/lessons/the-5-tuple/").content.decode()
    figures = re.findall(r'<figure class="diagram narrow">(.*?)</figure>', page, re.S)
    by_id = {re.search(r'aria-labelledby="(\w+)-title \1-desc"', f)[1]: f for f in figures}
    assert set(by_id) == {"demux", "nat"}
    labels = {}
    for ident, figure in by_id.items():
        assert 'role="img"' in figure and "<figcaption>" in figure, ident
        assert f'<title id="{ident}-title">' in figure and f'<desc id="{ident}-desc">' in figure
        texts = re.findall(r"<text[^>]*>([^<]+)</text>", figure)
        labels[ident] = " | ".join(unescape(t) for t in texts)
    # Each step is written out, not told by colour: none, RST, the rewritten addresses.
    for words in ("none", "the kernel sends RST", "ECONNREFUSED", "A UDP datagram arrives"):
        assert words in labels["demux"], words
    for words in ("local 192.168.1.23:55020", "remote 203.0.113.1:55020", "rewrites the source"):
        assert words in labels["nat"], words
