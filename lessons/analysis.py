"""Item analysis for staff: which questions students get wrong, and how (where learners
stop in the playground's experiments is labs.analysis).

Counts only submitted attempts. For each question: how many answered it, the
share fully right, and the most common wrong answer (a wrong choice, or the
most frequent wrong text or number; for a lab question, the most common step
missing, or "no sandbox"). For the quiz: attempts and the score distribution in
ten bands.

The CSV export (quiz_csv_rows) is opened in spreadsheets, which run a cell that starts
with = + - @ (or a tab or carriage return) as a formula: every such text cell is
prefixed with a quote (OWASP's advice), so a learner's wrong answer cannot become one.
Prompts are exported as the text learners read (Markdown rendered, tags dropped).
"""

import html
from collections import Counter
from dataclasses import dataclass, field

from django.utils.html import strip_tags

from lessons import markdown, quiz_rules
from lessons.grading import normalise_text
from lessons.models import Answer


@dataclass
class QuestionStats:
    question: object
    answers: int = 0
    correct: int = 0
    wrong_answer: str = ""
    wrong_count: int = 0

    @property
    def percent_correct(self) -> float | None:
        return round(100 * self.correct / self.answers, 1) if self.answers else None


@dataclass
class QuizStats:
    attempts: int = 0
    mean: float | None = None
    bands: list[tuple[str, int]] = field(default_factory=list)
    questions: list[QuestionStats] = field(default_factory=list)

    @property
    def tallest(self) -> int:
        return max((count for _, count in self.bands), default=0) or 1


def _bands(percents: list[float]) -> list[tuple[str, int]]:
    counts = Counter(min(int(p // 10), 9) for p in percents)
    return [(f"{10 * b} to {10 * b + 9 if b < 9 else 100}%", counts[b]) for b in range(10)]


def quiz_stats(quiz) -> QuizStats:
    attempts = list(quiz.attempts.values_list("percent", flat=True))
    stats = QuizStats(attempts=len(attempts), bands=_bands(attempts))
    if attempts:
        stats.mean = round(sum(attempts) / len(attempts), 1)
    questions = list(quiz.questions.prefetch_related("choices"))
    answers = Answer.objects.filter(attempt__quiz=quiz)
    by_question: dict[int, list] = {}
    fields = ("question_id", "choice_ids", "text", "number", "points", "lab_result")
    for answer in answers.values(*fields):
        by_question.setdefault(answer["question_id"], []).append(answer)
    for question in questions:
        rows = by_question.get(question.pk, [])
        item = QuestionStats(question, answers=len(rows))
        item.correct = sum(1 for row in rows if row["points"] >= 1)
        wrong = Counter()
        choices = {c.pk: c for c in question.choices.all()}
        for row in rows:
            if row["points"] >= 1:
                continue
            if question.kind in quiz_rules.CHOICE_KINDS:
                for cid in row["choice_ids"]:
                    if cid in choices and not choices[cid].is_correct:
                        wrong[choices[cid].text] += 1
            elif question.kind == quiz_rules.TEXT and row["text"].strip():
                wrong[normalise_text(row["text"])] += 1
            elif question.kind == quiz_rules.NUMBER and row["number"] is not None:
                wrong[f"{row['number']:g}"] += 1
            elif question.kind == quiz_rules.LAB and row["lab_result"]:
                lab = row["lab_result"]
                wrong[f"missing: {lab['missing']}" if lab.get("sandbox") else "no sandbox"] += 1
        if wrong:
            item.wrong_answer, item.wrong_count = wrong.most_common(1)[0]
        stats.questions.append(item)
    return stats


CSV_HEADER = (
    "Number",
    "Key",
    "Question",
    "Type",
    "Answers",
    "Correct (%)",
    "Most chosen wrong answer",
    "Times chosen",
    "Edit page",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """A cell a spreadsheet shows as text: a string that would start a formula gets a
    leading quote; numbers and empty cells are kept as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def prompt_text(prompt: str) -> str:
    """A prompt as learners read it, as plain text: rendered by the site's Markdown
    renderer and sanitiser, then its tags dropped."""
    return html.unescape(strip_tags(markdown.render_inline(prompt)))


def quiz_csv_rows(stats: QuizStats, edit_url) -> list[list]:
    """The item analysis as CSV rows, header first; `edit_url(question)` is each
    question's edit page (an absolute address, so it works from the spreadsheet)."""
    rows = [list(CSV_HEADER)]
    for number, item in enumerate(stats.questions, start=1):
        question = item.question
        row = [
            number,
            question.key,
            prompt_text(question.prompt),
            question.get_kind_display(),
            item.answers,
            "" if item.percent_correct is None else item.percent_correct,
            item.wrong_answer,
            item.wrong_count if item.wrong_answer else "",
            edit_url(question),
        ]
        rows.append([csv_safe(cell) for cell in row])
    return rows
