"""The form a student fills in for one attempt.

Fields are built from the attempt's own question and choice order. The form
knows nothing of which answers are right: grading happens after submission,
in lessons.grading, on the server. A lab question has no field at all: it is
graded from the learner's live sandbox (labs.grading), and whatever a client
posts under its name is never read. A number question's field is a text field
(NumberAnswerField): what was typed is read on the server, and re-shown with a
message when it is not one number. A text answer holds at most TEXT_ANSWER_MAX
characters: the page says so next to its box (the field's help text) and the
browser stops typing there (maxlength), and a longer one posted anyway is refused
with a message and shown again, never cut.
"""

from django import forms

from lessons import quiz_rules
from lessons.grading import Response
from lessons.number_answers import read_number

TEXT_ANSWER_MAX = 300


def field_name(question) -> str:
    return f"q{question.pk}"


class NumberAnswerField(forms.Field):
    """A number question's field: a text input, so the browser submits what was typed
    ("131,072", "two", "2 sockets"; an <input type=number> would send such text as
    empty), read on the server by lessons.number_answers.read_number."""

    def __init__(self, question):
        self.decimal = is_decimal(question)
        self.prompt = question.prompt
        attrs = {
            "inputmode": "decimal" if self.decimal else "numeric",
            "autocomplete": "off",
            "spellcheck": "false",
        }
        super().__init__(required=False, widget=forms.TextInput(attrs=attrs))

    def to_python(self, value):
        return read_number(str(value or ""), self.decimal, self.prompt)


def is_decimal(question) -> bool:
    """Whether the answer may be fractional: the answer or its tolerance is."""
    return any(float(x or 0) % 1 for x in (question.number_answer, question.tolerance))


class AttemptForm(forms.Form):
    def __init__(self, *args, ordered_questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.ordered_questions = ordered_questions
        for question, choices in ordered_questions:
            if question.kind != quiz_rules.LAB:
                self.fields[field_name(question)] = self._field(question, choices)

    @staticmethod
    def _field(question, choices):
        options = [(str(c.pk), c.text) for c in choices]
        if question.kind == quiz_rules.MULTIPLE:
            return forms.TypedMultipleChoiceField(
                choices=options, coerce=int, required=False, widget=forms.CheckboxSelectMultiple
            )
        if question.kind in quiz_rules.CHOICE_KINDS:
            return forms.TypedChoiceField(
                choices=options,
                coerce=int,
                required=False,
                widget=forms.RadioSelect,
                empty_value=None,
            )
        if question.kind == quiz_rules.NUMBER:
            return NumberAnswerField(question)
        return forms.CharField(
            required=False,
            max_length=TEXT_ANSWER_MAX,
            help_text=f"At most {TEXT_ANSWER_MAX} characters.",
            error_messages={
                "max_length": "Your answer is %(show_value)d characters long; it can be at "
                "most %(limit_value)d. Shorten it and submit again."
            },
            widget=forms.TextInput(attrs={"autocomplete": "off"}),
        )

    def responses(self) -> dict[int, Response]:
        responses = {}
        for question, _ in self.ordered_questions:
            if question.kind == quiz_rules.LAB:
                continue  # graded from the sandbox (labs.grading.grade_lab_questions)
            value = self.cleaned_data.get(field_name(question))
            if question.kind == quiz_rules.MULTIPLE:
                response = Response(choice_ids=list(value or []))
            elif question.kind in quiz_rules.CHOICE_KINDS:
                response = Response(choice_ids=[value] if value is not None else [])
            elif question.kind == quiz_rules.NUMBER:
                response = Response(number=value)
            else:
                response = Response(text=value or "")
            responses[question.pk] = response
        return responses

    def rows(self):
        """(question, bound field) pairs in attempt order, for the template; a lab
        question's field is None."""
        return [
            (q, self[field_name(q)] if q.kind != quiz_rules.LAB else None)
            for q, _ in self.ordered_questions
        ]
