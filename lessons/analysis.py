"""Item analysis for staff: which questions students get wrong, and how.

Counts only submitted attempts. For each question: how many answered it, the
share fully right, and the most common wrong answer (a wrong choice, or the
most frequent wrong text or number). For the quiz: attempts and the score
distribution in ten bands.
"""

from collections import Counter
from dataclasses import dataclass, field

from lessons import quiz_rules
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
    for answer in answers.values("question_id", "choice_ids", "text", "number", "points"):
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
        if wrong:
            item.wrong_answer, item.wrong_count = wrong.most_common(1)[0]
        stats.questions.append(item)
    return stats
