"""The item analysis as staff read it (prompts rendered, rows linked to the questions'
pages) and as a CSV file downloaded from its link, safe to open in a spreadsheet."""

import csv
import io
import re

import pytest
from django.test import Client

from lessons.models import Quiz
from tests.support.forms import submission


@pytest.fixture
def quiz(course):
    return Quiz.objects.get(slug="ports-quiz")


@pytest.fixture
def answered(quiz):
    """Three students' attempts, two choosing a wrong choice that reads as a formula, on
    a question whose prompt has Markdown and starts with a plus sign."""
    single = next(q for q in quiz.questions.prefetch_related("choices") if q.kind == "single")
    single.prompt = "+1 if the port is *not* listening"
    single.save()
    wrong = next(c for c in single.choices.all() if not c.is_correct)
    wrong.text = '=HYPERLINK("http://attacker.example/","click")'
    wrong.save()
    for answers_wrong in ({single.key}, {single.key}, set()):
        student = Client()
        page = student.get(quiz.get_absolute_url()).content.decode()
        student.post(quiz.get_absolute_url(), submission(page, quiz, answers_wrong))
    return single


def csv_link(page: str) -> str:
    return re.search(r'<a href="([^"]+)"[^>]*>Download CSV</a>', page).group(1)


@pytest.mark.django_db
def test_it_renders_prompts_and_links_each_row_to_its_question(staff_client, quiz, answered):
    page = staff_client.get(f"/admin/lessons/quiz/{quiz.pk}/analysis/").content.decode()
    assert "<em>not</em> listening" in page
    assert "*not*" not in page
    row = page.split("<em>not</em> listening", 1)[1].split("</tr>", 1)[0]
    assert f'href="/admin/lessons/question/{answered.pk}/change/"' in row


@pytest.mark.django_db
def test_it_downloads_the_item_analysis_as_csv_safe_from_formulas(staff_client, quiz, answered):
    page = staff_client.get(f"/admin/lessons/quiz/{quiz.pk}/analysis/").content.decode()
    response = staff_client.get(csv_link(page))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Number", "Key", "Question"]
    assert len(rows) == 1 + quiz.questions.count()
    row = next(r for r in rows if r[1] == answered.key)
    # The prompt as learners read it, and a quote before what would start a formula.
    assert row[2] == "'+1 if the port is not listening"
    assert row[4] == "3" and row[5] == "33.3"
    assert row[6] == "'" + '=HYPERLINK("http://attacker.example/","click")' and row[7] == "2"
    assert row[8] == f"http://testserver/admin/lessons/question/{answered.pk}/change/"
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


@pytest.mark.django_db
def test_it_keeps_the_csv_from_students_and_visitors(client, student_client, quiz):
    url = f"/admin/lessons/quiz/{quiz.pk}/analysis.csv"
    for visitor in (Client(), student_client):
        response = visitor.get(url)
        assert response.status_code in (302, 403)
        assert b"Number,Key" not in response.content
        if response.status_code == 302:
            assert response["Location"].startswith("/admin/login/")
