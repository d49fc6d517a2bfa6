from lessons.models.course import (
    GlossaryTerm,
    Lesson,
    glossary_entries,
    normalise_markdown,
    rerender_lessons,
)
from lessons.models.progress import Answer, Attempt, LessonRead
from lessons.models.quizzes import Choice, Question, Quiz

__all__ = [
    "Answer",
    "Attempt",
    "Choice",
    "GlossaryTerm",
    "Lesson",
    "LessonRead",
    "Question",
    "Quiz",
    "glossary_entries",
    "normalise_markdown",
    "rerender_lessons",
]
