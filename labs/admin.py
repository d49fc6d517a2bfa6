"""The playground's experiments in the admin: one page per experiment with its steps
(drag to reorder), each step's check and prediction validated by the loader's rules
(the prediction edited as a question, one choice per line and the right one's number
from 1, as staff count; stored as the files hold it, counted from 0); and the lab
analysis (labs.analysis.lab_stats): per experiment, how many learners started and
finished it, and at which step the others stopped.

A step's check is edited as fields (lessons/static/lessons/admin/check_editor.js) that
read and write the same stored JSON, which stays editable as JSON for what the fields
cannot show. Rules:
- The kinds and keys the fields offer, their order, their labels and their choices come
  from the check language's own tables (playground.labs.checks: KINDS, SOCKET_KEYS and
  PACKET_KEYS with each Key's label, DEVICES, ROLES, STATES, FLAG_NAMES, DISTINCT, the
  ops), read through its public names: check_schema() only adds the kind of input each
  key takes, and the labels of the kinds and their modifiers (KIND_LABELS); a key it has
  no input for is typed as JSON.
- The words a field shows when its value is wrong are lab_checks' own (each key's rule,
  asked what it wants); the whole check is validated by lab_checks.check_errors, on save
  and as the fields change (the check endpoint).
- "Test this check against my sandbox" replays the check over the staff member's own live
  sandbox (the playground open in another tab of the same browser: the same session),
  read as labs.grading reads a learner's for a lab question, and says whether it matches.
"""

import json

import nested_admin
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Script
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from labs import grading
from labs.analysis import lab_stats
from labs.models import Experiment, ExperimentStep
from labs.rules import lab_steps_errors
from playground.labs import checks as lab_checks
from playground.labs.checks import keys as check_keys
from playground.labs.checks.validate import op_names

# The input each key of the check language takes (its list and order are lab_checks'):
# read from the key's rule (Key.validate) where the rule says it
# (a new flag or port key gets its input with no change here); named only for the keys
# whose rule is one of a list, with that list.
_CHOICES = {
    "device": lab_checks.DEVICES,
    "remote_device": lab_checks.DEVICES,
    "from": lab_checks.DEVICES,
    "to": lab_checks.DEVICES,
    "role": lab_checks.ROLES,
    "protocol": ("tcp", "udp"),
}
_RULE_INPUTS = {
    check_keys.flag: "flag",
    check_keys.port: "port",
    check_keys.states: "states",
    check_keys.flag_list: "flags",
    check_keys.length: "count",
}


def _input(key: str, rule) -> str:
    if key in _CHOICES:
        return "choice"
    if key == "remote":
        return "none"  # its only value is null: no remote address
    return _RULE_INPUTS.get(rule, "json")


# A key's label is its own (Key.label); these are the kinds' and their modifiers'.
KIND_LABELS = {
    "socket": "A socket matches",
    "no_socket": "No socket matches",
    "sockets": "Several sockets match",
    "connection": "A connection: a client and its accepted socket",
    "error": "A command was answered with an error",
    "ok": "A command succeeded",
    "packet": "A packet was captured",
    "picked": "The learner picked a packet or a socket",
    "all": "All of these",
    "any": "Any one of these",
    "at_least": "At least how many",
    "distinct": "Each with a different",
    "op": "Command",
    "while": "Only while",
}


def _kind_label(name: str) -> str:
    return KIND_LABELS.get(name, name.replace("_", " ").capitalize())


def _fields(keys: dict) -> list[dict]:
    return [
        {
            "key": key.name,
            "label": key.label,
            "input": _input(key.name, key.validate),
            "choices": list(
                _CHOICES.get(key.name)
                or (lab_checks.STATES if _input(key.name, key.validate) == "states" else ())
                or (lab_checks.FLAG_NAMES if _input(key.name, key.validate) == "flags" else ())
            ),
            # The rule's own words for what the key takes: asked with a value none accepts.
            "wants": key.validate(object()),
        }
        for key in keys.values()
    ]


def check_schema() -> dict:
    """What the check fields offer, from lab_checks' tables (JSON for the page)."""
    return {
        "kinds": [{"key": kind, "label": _kind_label(kind)} for kind in lab_checks.KINDS],
        "stateKinds": list(lab_checks.STATE_KINDS),
        "modifiers": {kind: sorted(keys) for kind, keys in lab_checks.MODIFIERS.items()},
        "socketFields": _fields(lab_checks.SOCKET_KEYS),
        "packetFields": _fields(lab_checks.PACKET_KEYS),
        "ops": list(op_names()),
        "distinct": [
            {"key": key, "label": lab_checks.SOCKET_KEYS[key].label} for key in lab_checks.DISTINCT
        ],
        "pickable": list(lab_checks.PICKABLE),
        "labels": {key: _kind_label(key) for key in ("at_least", "distinct", "op", "while")},
    }


def _match_field_errors(match, keys: dict, path: str) -> dict[str, str]:
    if not isinstance(match, dict):
        return {}
    errors = {}
    for name, value in match.items():
        key = keys.get(name)
        if key is not None and (wanted := key.validate(value)) is not None:
            errors[f"{path}.{name}"] = f"{key.label} must be {wanted}."
    return errors


def check_field_errors(check, path: str = "check") -> dict[str, str]:
    """Errors of single keys, by the path of their field (as check_editor.js names them):
    what the fields can show next to the input. The whole story is check_errors'."""
    if not isinstance(check, dict):
        return {}
    kinds = [key for key in check if key in lab_checks.KINDS]
    if len(kinds) != 1:
        return {}
    kind, value = kinds[0], check[kinds[0]]
    at = f"{path}.{kind}"
    if kind in ("socket", "no_socket", "sockets"):
        errors = _match_field_errors(value, lab_checks.SOCKET_KEYS, at)
        at_least = check.get("at_least")
        if kind == "sockets" and (
            not isinstance(at_least, int) or isinstance(at_least, bool) or at_least < 1
        ):
            errors[f"{path}.at_least"] = "Give a whole number of 1 or more."
        return errors
    if kind == "packet":
        return _match_field_errors(value, lab_checks.PACKET_KEYS, at)
    if kind == "picked" and isinstance(value, dict):
        if "packet" in value:
            return _match_field_errors(value["packet"], lab_checks.PACKET_KEYS, f"{at}.packet")
        return _match_field_errors(value.get("socket"), lab_checks.SOCKET_KEYS, f"{at}.socket")
    if kind == "connection" and isinstance(value, dict):
        errors = {}
        for end in ("client", "accepted"):
            errors |= _match_field_errors(value.get(end), lab_checks.SOCKET_KEYS, f"{at}.{end}")
        return errors
    if kind == "error":
        errors = {}
        if not isinstance(value, str) or not value:
            errors[at] = 'Give the error code, such as "ECONNREFUSED".'
        if "while" in check:
            errors |= check_field_errors(check["while"], f"{path}.while")
        return errors
    if kind in ("all", "any") and isinstance(value, list):
        errors = {}
        for n, part in enumerate(value):
            errors |= check_field_errors(part, f"{at}.{n}")
        return errors
    return {}


NO_SANDBOX = "No sandbox open: open the playground in another tab of this browser, then try again."


def try_in_sandbox(check, session_key: str | None) -> dict:
    """Whether `check` (valid) holds in the staff member's live sandbox, in words."""
    inspected = grading.inspect(session_key)
    if inspected is None:
        return {"outcome": "no-sandbox", "message": NO_SANDBOX}
    if lab_checks.picks(check):
        return {
            "outcome": "no-match",
            "message": "Does not match: a pick is made by the learner in the playground, "
            "during the experiment; it cannot be tried from here.",
        }
    try:
        result = lab_checks.replay([{"text": "This check", "check": check}], inspected["journal"])
    except ValueError as error:  # a rule of lab questions' steps, stricter than experiments'
        return {"outcome": "no-match", "message": f"It cannot be tried here: {error}"}
    if result.complete:
        found = result.found[0].removeprefix("Step 1: ").rstrip(".")
        return {"outcome": "match", "message": f"Matches: {found}."}
    count = len(inspected.get("sockets") or [])
    return {
        "outcome": "no-match",
        "message": f"Does not match: it needs {lab_checks.describe(check)}, which your "
        f"sandbox has not shown since it opened ({count} socket{'s' if count != 1 else ''} "
        "now).",
    }


class CheckWidget(forms.Textarea):
    """The stored JSON, which check_editor.js turns into fields (and keeps in sync)."""

    def __init__(self, attrs=None):
        super().__init__({"rows": 3, "data-check-json": "", **(attrs or {})})


class StepForm(forms.ModelForm):
    """A step, with its prediction as three fields: all empty for a step that asks none."""

    predict_prompt = forms.CharField(
        label="Prediction: question",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Asked before the learner acts, e.g. “What will connect() return?”. "
        "Leave the three prediction fields empty for a step that asks none.",
    )
    predict_choices = forms.CharField(
        label="Prediction: choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One choice per line, {} to {} lines.".format(*lab_checks.PREDICT_CHOICES),
    )
    predict_answer = forms.IntegerField(
        label="Prediction: right choice",
        required=False,
        min_value=1,
        help_text="The line number of the right choice: 1 for the first.",
    )

    class Meta:
        model = ExperimentStep
        fields = ("text", "explain", "step_check", "order")
        widgets = {"step_check": CheckWidget()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        prediction = self.instance.prediction or {}
        if prediction:
            self.initial.setdefault("predict_prompt", prediction.get("prompt", ""))
            self.initial.setdefault("predict_choices", "\n".join(prediction.get("choices", [])))
            answer = prediction.get("answer")
            if isinstance(answer, int):
                self.initial.setdefault("predict_answer", answer + 1)

    def clean(self):
        data = super().clean()
        prompt = (data.get("predict_prompt") or "").strip()
        lines = (data.get("predict_choices") or "").splitlines()
        choices = [line.strip() for line in lines if line.strip()]
        answer = data.get("predict_answer")
        if not prompt and not choices and answer is None:
            self.instance.prediction = {}
            return data
        low, high = lab_checks.PREDICT_CHOICES
        if not prompt:
            self.add_error("predict_prompt", "A prediction needs its question.")
        if not low <= len(choices) <= high:
            self.add_error(
                "predict_choices",
                f"Write {low} to {high} choices, one per line (there are {len(choices)}).",
            )
        elif len(set(choices)) != len(choices):
            self.add_error("predict_choices", "Two lines say the same thing.")
        if answer is None:
            self.add_error("predict_answer", "Give the line number of the right choice.")
        elif choices and answer > len(choices):
            self.add_error(
                "predict_answer",
                f"There are {len(choices)} choices: the right one is a number from 1 to "
                f"{len(choices)}.",
            )
        if not any(
            f in self.errors for f in ("predict_prompt", "predict_choices", "predict_answer")
        ):
            prediction = {"prompt": prompt, "choices": choices, "answer": answer - 1}
            # The rules the loader applies; the checks above say it in staff's terms first.
            problems = lab_checks.prediction_errors(prediction)
            if problems:
                self.add_error("predict_choices", problems)
            else:
                self.instance.prediction = prediction
        return data


class StepFormSet(nested_admin.formsets.NestedInlineFormSet):
    """The steps as a whole: at least one, and what playground.labs.lab asks of a list."""

    def clean(self):
        super().clean()
        if any(form.errors for form in self.forms):
            return  # each step's own message is shown on its row
        steps = [
            {
                "text": form.cleaned_data.get("text", ""),
                "check": form.cleaned_data.get("step_check"),
            }
            for form in sorted(self.forms, key=lambda f: f.cleaned_data.get("order") or 0)
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        errors = lab_steps_errors(steps, experiment=True)
        if errors:
            raise ValidationError(errors)


class StepInline(nested_admin.NestedStackedInline):
    model = ExperimentStep
    form = StepForm
    formset = StepFormSet
    extra = 0
    sortable_field_name = "order"
    fields = (
        "text",
        "step_check",
        ("predict_prompt", "predict_choices"),
        "predict_answer",
        "explain",
        "order",
    )


@admin.register(Experiment)
class ExperimentAdmin(nested_admin.NestedModelAdmin):
    list_display = ("title", "slug", "lesson", "order", "published", "unexported", "links")
    list_display_links = ("title",)
    list_editable = ("order", "published")
    list_filter = ("published", "lesson")
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [StepInline]
    fields = (("title", "slug"), ("lesson", "anchor"), ("order", "published"), "links")
    readonly_fields = ("links",)

    class Media:
        js = (Script("lessons/admin/check_editor.js", type="module"),)
        css = {"all": ("lessons/admin/authoring.css",)}

    def render_change_form(self, request, context, *args, **kwargs):
        context["check_schema"] = check_schema()
        context["check_url"] = reverse("admin:labs_experiment_check")
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(boolean=True, description="Edited since last load/export")
    def unexported(self, obj):
        return obj.edited_since_load or not obj.loaded_hash

    @admin.display(description="Tools")
    def links(self, obj):
        if not obj.pk:
            return "Save the experiment to try it in the playground."
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Open in the playground</a> · '
            '<a href="{}#experiment-{}">Lab analysis</a>',
            obj.get_absolute_url(),
            reverse("admin:labs_experiment_analysis"),
            obj.slug,
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("analysis/", wrap(self.analysis_view), name="labs_experiment_analysis"),
            path("check/", wrap(require_POST(self.check_view)), name="labs_experiment_check"),
            *super().get_urls(),
        ]

    def analysis_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Lab analysis",
            "stats": lab_stats(),
        }
        return render(request, "admin/labs/experiment/analysis.html", context)

    def check_view(self, request):
        """The check fields' helper (JSON in, JSON out): {"check": ..., "test": bool} gets
        {"errors": [...], "fields": {path: message}}, and with "test" and no errors
        {"result": {"outcome": "match" | "no-match" | "no-sandbox", "message": ...}}."""
        if not self.has_change_permission(request) and not self.has_add_permission(request):
            raise PermissionDenied
        try:
            posted = json.loads(request.body)
            check = posted["check"]
            answer = {"errors": lab_checks.check_errors(check), "fields": check_field_errors(check)}
        except (ValueError, KeyError, TypeError, AttributeError):
            return JsonResponse({"errors": ["Send the check as JSON."], "fields": {}}, status=400)
        except RecursionError:  # nested past any check a step could need
            return JsonResponse(
                {"errors": ["That check is nested too deeply."], "fields": {}}, status=400
            )
        if posted.get("test") and not answer["errors"]:
            answer["result"] = try_in_sandbox(check, request.session.session_key)
        return JsonResponse(answer)
