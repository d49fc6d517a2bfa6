import pytest
from django.core.management import CommandError, call_command
from django.utils.html import escape

from lessons.models import Question, Quiz
from tests.support.forms import post_data, submission


@pytest.fixture
def quiz(course):
    return Quiz.objects.get(slug="ports-quiz")


def change_url(quiz):
    return f"/admin/lessons/quiz/{quiz.pk}/change/"


def form_for(staff_client, quiz):
    return post_data(staff_client.get(change_url(quiz)).content.decode())


def question_url(question):
    return f"/admin/lessons/question/{question.pk}/change/"


def question_form(staff_client, question):
    return post_data(staff_client.get(question_url(question)).content.decode())


def index_of(quiz, kind):
    questions = list(quiz.questions.all())
    return next(i for i, q in enumerate(questions) if q.kind == kind), questions


@pytest.mark.django_db
def test_it_edits_a_question_and_its_choices_on_its_own_page(staff_client, quiz):
    i, questions = index_of(quiz, "single")
    data = question_form(staff_client, questions[i])
    data["prompt"] = "A reworded prompt"
    data["choices-0-feedback"] = "Reworded feedback"
    response = staff_client.post(question_url(questions[i]), data)
    assert response.status_code == 302
    assert response["Location"] == change_url(quiz)  # back to the quiz's list
    question = Question.objects.get(pk=questions[i].pk)
    assert question.prompt == "A reworded prompt"
    assert question.choices.first().feedback == "Reworded feedback"


@pytest.mark.django_db
def test_it_lists_the_questions_compactly_on_the_quiz_page(staff_client, quiz):
    page = staff_client.get(change_url(quiz)).content.decode()
    for question in quiz.questions.all():
        assert f'href="{question_url(question)}"' in page
        assert 'name="questions-0-prompt"' not in page  # edited on its own page
    assert "Move question 1 down" in page
    # Prompts as learners read them: the Markdown's backticks are not shown.
    assert (
        "`192.168.1.20`"
        not in page.split('id="questions-group"', 1)[1]
        .split('class="djn-td field-excerpt"', 1)[1]
        .split("</td>", 1)[0]
    )


@pytest.mark.django_db
def test_it_adds_a_question_at_the_end_of_its_quiz(staff_client, quiz):
    page = staff_client.get(change_url(quiz)).content.decode()
    assert f'href="/admin/lessons/question/add/?quiz={quiz.pk}"' in page
    page = staff_client.get(f"/admin/lessons/question/add/?quiz={quiz.pk}").content.decode()
    data = post_data(page)
    assert data["quiz"] == str(quiz.pk)
    data.update(
        {
            "kind": "number",
            "key": "new-number",
            "prompt": "How many *bits* in a port number?",
            "explanation": "Ports are 16-bit numbers.",
            "number_answer": "16",
            "accepted": "[]",
            "wrong_answers": "[]",
            "lab_steps": "[]",
        }
    )
    response = staff_client.post(f"/admin/lessons/question/add/?quiz={quiz.pk}", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(quiz.questions.values_list("key", flat=True))[-1] == "new-number"


@pytest.mark.django_db
def test_it_duplicates_a_question_with_its_choices(staff_client, quiz):
    i, questions = index_of(quiz, "single")
    original = questions[i]
    page = staff_client.get(question_url(original)).content.decode()
    action = f"/admin/lessons/question/{original.pk}/duplicate/"
    assert f'action="{action}"' in page
    response = staff_client.post(action, post_data(page.split(f'action="{action}"', 1)[1]))
    copy = quiz.questions.last()
    assert response.status_code == 302 and response["Location"] == question_url(copy)
    assert copy.pk != original.pk and copy.key == f"{original.key}-copy"
    assert copy.prompt == original.prompt
    assert [(c.text, c.is_correct) for c in copy.choices.all()] == [
        (c.text, c.is_correct) for c in original.choices.all()
    ]
    assert original.choices.count() == Question.objects.get(pk=original.pk).choices.count()


@pytest.mark.django_db
def test_it_reorders_questions(staff_client, quiz):
    data = form_for(staff_client, quiz)
    before = list(quiz.questions.values_list("key", flat=True))
    count = len(before)
    for i in range(count):
        data[f"questions-{i}-order"] = str(count - i)
    assert staff_client.post(change_url(quiz), data).status_code == 302
    assert list(quiz.questions.values_list("key", flat=True)) == before[::-1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "change", "message"),
    [
        (
            "single",
            "two-correct",
            "A single-choice question needs exactly one correct choice (it has 2).",
        ),
        ("multiple", "no-correct", "A multiple-choice question needs at least one correct choice."),
        ("text", {"accepted": "[]"}, "A short-text question needs at least one accepted answer."),
        ("number", {"number_answer": ""}, "A number question needs its correct answer."),
    ],
)
def test_it_refuses_a_malformed_question_in_the_admin(staff_client, quiz, kind, change, message):
    i, questions = index_of(quiz, kind)
    data = question_form(staff_client, questions[i])
    if change in ("no-correct", "two-correct"):
        # Untick every box as a browser would, wherever the right choice stands now.
        for key in [k for k in data if k.startswith("choices-") and k.endswith("is_correct")]:
            del data[key]
        if change == "two-correct":
            data["choices-0-is_correct"] = "on"
            data["choices-1-is_correct"] = "on"
    else:
        data.update(change)
    response = staff_client.post(question_url(questions[i]), data)
    assert response.status_code == 200
    assert escape(message) in response.content.decode()
    assert Quiz.objects.get(pk=quiz.pk).content_hash() == quiz.content_hash()  # nothing saved


def break_file(content_dir, old, new):
    path = content_dir / "quizzes" / "ports-quiz.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("correct: false", "correct: true", "needs exactly one correct choice"),
        (
            "teaches: ports#finding-the-device",
            "teaches: ports#nowhere",
            "that lesson has no section 'nowhere'",
        ),
        ("kind: text", "kind: essay", "kind must be one of"),
        ("show_answers: auto", "show_answers: last", "needs a limit on attempts"),
        ("show_answers: auto", "show_answers: never", "show_answers must be one of"),
    ],
)
def test_it_refuses_a_malformed_quiz_file_with_a_clear_message(content_dir, db, old, new, message):
    break_file(content_dir, old, new)
    with pytest.raises(
        CommandError, match=r"ports-quiz\.yaml(, question (\d+ )?'[\w-]+')?:"
    ) as error:
        call_command("load_course", "--content-dir", str(content_dir), verbosity=0)
    assert message in str(error.value)
    assert not Quiz.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_text_question_without_accepted_answers_in_a_file(content_dir, db):
    path = content_dir / "quizzes" / "ports-quiz.yaml"
    text = path.read_text()
    start = text.index("    accepted:")
    end = text.index("  - key:", start)
    path.write_text(text[:start] + "    accepted: []\n" + text[end:])
    with pytest.raises(CommandError, match="needs at least one accepted answer"):
        call_command("load_course", "--content-dir", str(content_dir), verbosity=0)


@pytest.mark.django_db
def test_it_keeps_a_quiz_edited_in_the_admin_from_the_loader(staff_client, quiz, content_dir):
    first = quiz.questions.first()
    data = question_form(staff_client, first)
    data["hint"] = "A hint written by staff"
    assert staff_client.post(question_url(first), data).status_code == 302
    from io import StringIO

    out = StringIO()
    call_command("load_course", stdout=out)
    assert "Skipped quiz 'ports-quiz'" in out.getvalue()
    assert quiz.questions.first().hint == "A hint written by staff"


@pytest.mark.django_db
def test_it_previews_a_quiz_with_its_answer_key_for_staff_only(staff_client, client, quiz):
    page = staff_client.get(f"/admin/lessons/quiz/{quiz.pk}/preview/").content.decode()
    for question in quiz.questions.all():
        assert escape(question.explanation) in page
    assert "correct</span>" in page
    client.logout()
    response = client.get(f"/admin/lessons/quiz/{quiz.pk}/preview/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_it_shows_item_analysis_per_question_and_per_quiz(staff_client, quiz, django_user_model):
    from django.test import Client

    single = next(q for q in quiz.questions.prefetch_related("choices") if q.kind == "single")
    wrong_choice = next(c for c in single.choices.all() if not c.is_correct)
    # Two wrong answers out of the quiz's 10 to 19 keep those attempts below 90%.
    other = next(q.key for q in quiz.questions.all() if q.key != single.key)
    assert 10 <= quiz.questions.count() < 20
    for wrong in [{single.key, other}, {single.key, other}, set()]:
        student = Client()
        page = student.get(quiz.get_absolute_url()).content.decode()
        student.post(quiz.get_absolute_url(), submission(page, quiz, wrong))
    page = staff_client.get(f"/admin/lessons/quiz/{quiz.pk}/analysis/").content.decode()
    assert "<strong>3</strong> submitted attempts" in page
    row = page.split(str(single.prompt_html), 1)[1].split("</tr>", 1)[0]
    assert "<td>3</td>" in row  # answers
    assert "33.3%" in row  # one in three right
    assert f"{escape(wrong_choice.text)} (2)" in row
    bands = page.split("Score distribution", 1)[1].split("</table>", 1)[0]
    assert '<th scope="row">90 to 100%</th><td>1</td>' in bands


@pytest.mark.django_db
def test_it_edits_when_the_answer_key_is_shown_in_the_admin(staff_client, quiz):
    data = form_for(staff_client, quiz)
    data["show_answers"] = "last"
    response = staff_client.post(change_url(quiz), data)
    assert response.status_code == 200
    assert "needs a limit on attempts" in response.content.decode()
    data["max_attempts"] = "3"
    assert staff_client.post(change_url(quiz), data).status_code == 302
    quiz.refresh_from_db()
    assert (quiz.show_answers, quiz.max_attempts) == ("last", 3)


@pytest.mark.django_db
def test_it_duplicates_a_question_with_the_longest_key_again_and_again(staff_client, quiz):
    # Cutting "<key>-copy-<n>" to the key's 80 characters gave the same key every time, so
    # the second copy of a long-keyed question never found a free key (the request spun).
    i, questions = index_of(quiz, "single")
    original = questions[i]
    Question.objects.filter(pk=original.pk).update(key="k" * 80)
    action = f"/admin/lessons/question/{original.pk}/duplicate/"
    for _ in range(3):
        page = staff_client.get(question_url(original)).content.decode()
        response = staff_client.post(action, post_data(page.split(f'action="{action}"', 1)[1]))
        assert response.status_code == 302
    keys = list(quiz.questions.values_list("key", flat=True))
    copies = [key for key in keys if key.startswith("k" * 70) and key != "k" * 80]
    assert len(copies) == len(set(copies)) == 3
    assert all(len(key) <= 80 for key in copies)
