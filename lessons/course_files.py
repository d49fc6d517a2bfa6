"""Read and write the course as files (content as code).

Layout under settings.COURSE_CONTENT_DIR:
    lessons/<slug>.md   YAML front matter (title, order, summary, published) + Markdown body
    glossary.yaml       a list of {term, slug, aliases, definition}
    quizzes/<slug>.yaml a quiz and its questions
    experiments/<id>.yaml  a playground experiment: title, lesson, teaches, order,
                        published and steps, each {text, check}, and optionally
                        predict {prompt, choices, answer} and explain
                        (playground.labs.checks)

Errors name the file and the field, so a broken content file never loads half.
"""

import re
from pathlib import Path

import frontmatter
import yaml

from lessons import quiz_rules
from playground.labs import checks as lab_checks

LESSON_FIELDS = ("title", "slug", "order", "summary", "published")


class CourseFileError(ValueError):
    pass


class _Dumper(yaml.SafeDumper):
    # Indented lists and no line wrapping: one field per line reads and diffs well.
    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


class Flow(dict):
    """A mapping written on one line, as a step's check reads best: {socket: {port: 3000}}."""


_Dumper.add_representer(
    Flow, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, True)
)


# The order a check's keys are written in: PostgreSQL's jsonb keeps a mapping's keys in
# an order of its own, so a check read back from the database is put in this one, and
# the course files use it too (an exported file is then the file that was loaded).
CHECK_KEY_ORDER = lab_checks.KEY_ORDER
_RANK = {key: rank for rank, key in enumerate(CHECK_KEY_ORDER)}


def _in_order(value):
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (_RANK.get(k, len(_RANK)), str(k)))
        return {key: _in_order(value[key]) for key in keys}
    if isinstance(value, list):
        return [_in_order(item) for item in value]
    return value


def _step_for_file(step: dict) -> dict:
    out = {"text": step["text"]}
    if "predict" in step:
        out["predict"] = {key: step["predict"][key] for key in lab_checks.PREDICT}
    if step.get("explain"):
        out["explain"] = step["explain"]
    out["check"] = Flow(_in_order(step["check"]))
    return out


def _steps_for_file(steps: list[dict]) -> list[dict]:
    return [_step_for_file(step) for step in steps]


def _steps(raw, where: str, experiment: bool = False) -> list:
    """Steps as read; their checks and predictions are judged by the loader
    (quiz_rules.lab_steps_errors). Only an experiment's steps predict and explain.
    A step is {text, check}, with predict only when it asks one and explain only when
    it has one: the shape the database gives back (ExperimentStep.as_step)."""
    if not isinstance(raw, list) or not raw:
        raise CourseFileError(f"{where}: 'steps' must be a list of at least one text and check")
    allowed = set(lab_checks.EXPERIMENT_STEP if experiment else lab_checks.STEP)
    steps = []
    for number, step in enumerate(raw, start=1):
        if not isinstance(step, dict) or not {"text", "check"} <= set(step) <= allowed:
            fields = "'text' and 'check'" + (
                ", and may have 'predict' and 'explain'" if experiment else ""
            )
            raise CourseFileError(f"{where}, step {number}: a step has exactly {fields}")
        read = {"text": str(step["text"] or "").strip(), "check": step["check"]}
        if "predict" in step:
            predict = step["predict"]
            if isinstance(predict, dict) and isinstance(predict.get("prompt"), str):
                predict = {**predict, "prompt": predict["prompt"].strip()}
            read["predict"] = predict
        explain = step.get("explain")
        if isinstance(explain, str):
            explain = " ".join(explain.split())
        if explain:
            read["explain"] = explain
        steps.append(read)
    return steps


def _dump(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000)


def lesson_paths(root: Path) -> list[Path]:
    return sorted((root / "lessons").glob("*.md"))


def read_lesson(path: Path) -> dict:
    try:
        post = frontmatter.load(path)
    except yaml.YAMLError as exc:
        raise CourseFileError(f"{path.name}: the front matter is not valid YAML ({exc})") from exc
    meta = post.metadata
    unknown = set(meta) - set(LESSON_FIELDS)
    if unknown:
        raise CourseFileError(f"{path.name}: unknown front matter field(s): {sorted(unknown)}")
    for name in ("title", "order", "summary"):
        if meta.get(name) in (None, ""):
            raise CourseFileError(f"{path.name}: front matter needs '{name}'")
    if not isinstance(meta["order"], int) or meta["order"] < 0:
        raise CourseFileError(f"{path.name}: 'order' must be a whole number >= 0")
    slug = meta.get("slug") or path.stem
    if slug != path.stem:
        raise CourseFileError(f"{path.name}: slug {slug!r} must match the file name")
    if not post.content.strip():
        raise CourseFileError(f"{path.name}: the lesson has no body")
    return {
        "title": str(meta["title"]),
        "slug": slug,
        "order": meta["order"],
        "summary": str(meta["summary"]),
        "published": bool(meta.get("published", True)),
        "body": post.content,
    }


def read_lessons(root: Path) -> list[dict]:
    lessons = [read_lesson(path) for path in lesson_paths(root)]
    orders = [lesson["order"] for lesson in lessons]
    duplicates = sorted({o for o in orders if orders.count(o) > 1})
    if duplicates:
        raise CourseFileError(f"lessons: two lessons share the order {duplicates}")
    return lessons


def write_lesson(root: Path, fields: dict) -> Path:
    path = root / "lessons" / f"{fields['slug']}.md"
    meta = {name: fields[name] for name in LESSON_FIELDS if name != "slug"}
    head = _dump(meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{head}---\n\n{fields['body'].strip()}\n", encoding="utf-8")
    return path


def read_glossary(root: Path) -> list[dict]:
    path = root / "glossary.yaml"
    if not path.exists():
        return []
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise CourseFileError(f"glossary.yaml: not valid YAML ({exc})") from exc
    terms = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("term") or not entry.get("definition"):
            raise CourseFileError(f"glossary.yaml: entry {number} needs 'term' and 'definition'")
        aliases = entry.get("aliases") or []
        terms.append(
            {
                "term": str(entry["term"]),
                "slug": str(entry.get("slug") or entry["term"]).lower().replace(" ", "-"),
                "aliases": ", ".join(aliases) if isinstance(aliases, list) else str(aliases),
                "definition": " ".join(str(entry["definition"]).split()),
            }
        )
    return terms


def write_glossary(root: Path, terms: list[dict]) -> Path:
    path = root / "glossary.yaml"
    root.mkdir(parents=True, exist_ok=True)
    entries = [
        {
            "term": t["term"],
            "slug": t["slug"],
            "aliases": [a.strip() for a in t["aliases"].split(",") if a.strip()],
            "definition": t["definition"],
        }
        for t in terms
    ]
    path.write_text(_dump(entries), encoding="utf-8")
    return path


QUIZ_FIELDS = (
    "title",
    "lesson",
    "order",
    "description",
    "pass_mark",
    "max_attempts",
    "counts",
    "show_answers",
    "published",
    "questions",
)
QUESTION_KINDS = ("single", "multiple", "true_false", "text", "number", "lab")


def quiz_paths(root: Path) -> list[Path]:
    return sorted((root / "quizzes").glob("*.yaml"))


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CourseFileError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _question(raw, where: str) -> dict:
    if not isinstance(raw, dict):
        raise CourseFileError(f"{where}: each question must be a mapping")
    for name in ("key", "kind", "prompt", "explanation"):
        if not raw.get(name):
            raise CourseFileError(f"{where}: the question needs '{name}'")
    where = f"{where} '{raw['key']}'"
    kind = raw["kind"]
    if kind not in QUESTION_KINDS:
        raise CourseFileError(f"{where}: kind must be one of {', '.join(QUESTION_KINDS)}")
    if kind != "lab" and raw.get("lab_steps"):
        raise CourseFileError(f"{where}: only lab questions have lab_steps")
    question = {
        "key": str(raw["key"]),
        "kind": kind,
        "prompt": str(raw["prompt"]).strip(),
        "hint": str(raw.get("hint") or "").strip(),
        "explanation": str(raw["explanation"]).strip(),
        "teaches": str(raw.get("teaches") or ""),
    }
    if kind in ("single", "multiple"):
        question["choices"] = [
            {
                "text": str(choice["text"]),
                "correct": bool(choice.get("correct", False)),
                "feedback": str(choice.get("feedback") or ""),
            }
            for choice in raw.get("choices") or []
        ]
    elif kind == "true_false":
        if not isinstance(raw.get("answer"), bool):
            raise CourseFileError(f"{where}: a true/false question needs answer: true or false")
        feedback = raw.get("feedback") or {}
        question["answer"] = raw["answer"]
        question["feedback"] = {
            "true": str(feedback.get(True, feedback.get("true")) or ""),
            "false": str(feedback.get(False, feedback.get("false")) or ""),
        }
    elif kind == "text":
        question["accepted"] = [str(answer) for answer in raw.get("accepted") or []]
    elif kind == "lab":
        question["lab_steps"] = _steps(raw.get("lab_steps"), f"{where}, lab_steps")
    else:
        if raw.get("answer") is None:
            raise CourseFileError(f"{where}: a number question needs its answer")
        question["answer"] = _number(raw["answer"], where)
        question["tolerance"] = _number(raw.get("tolerance", 0), where)
    wrong_answers = _wrong_answers(raw.get("wrong_answers"), kind, where)
    if wrong_answers:
        question["wrong_answers"] = wrong_answers
    return question


def _wrong_answers(raw, kind: str, where: str) -> list[dict]:
    """Predictable wrong answers of a text or number question, each with its feedback."""
    if not raw:
        return []
    if kind not in ("text", "number"):
        raise CourseFileError(f"{where}: only text and number questions have wrong_answers")
    if not isinstance(raw, list):
        raise CourseFileError(f"{where}: wrong_answers must be a list of answer and feedback")
    wrong = []
    for item in raw:
        if not isinstance(item, dict) or item.get("answer") is None or not item.get("feedback"):
            raise CourseFileError(f"{where}: each wrong answer needs 'answer' and 'feedback'")
        answer = _number(item["answer"], where) if kind == "number" else str(item["answer"])
        wrong.append({"answer": answer, "feedback": str(item["feedback"]).strip()})
    return wrong


def _read_mapping(path: Path, name: str, what: str, fields) -> dict:
    """A YAML file holding one mapping of `fields` only; errors name the file as `name`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CourseFileError(f"{name}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise CourseFileError(f"{name}: expected a mapping of {what} fields")
    unknown = set(raw) - set(fields)
    if unknown:
        raise CourseFileError(f"{name}: unknown field(s): {sorted(unknown)}")
    return raw


def read_quiz(path: Path) -> dict:
    raw = _read_mapping(path, path.name, "quiz", QUIZ_FIELDS)
    if not raw.get("title"):
        raise CourseFileError(f"{path.name}: the quiz needs a title")
    if raw.get("counts", "highest") not in ("highest", "last"):
        raise CourseFileError(f"{path.name}: counts must be 'highest' or 'last'")
    show_answers = raw.get("show_answers", quiz_rules.KEY_AUTO)
    for error in quiz_rules.quiz_errors(raw.get("max_attempts"), show_answers):
        raise CourseFileError(f"{path.name}: {error}")
    questions = [
        _question(q, f"{path.name}, question {n}")
        for n, q in enumerate(raw.get("questions") or [], start=1)
    ]
    keys = [q["key"] for q in questions]
    if len(keys) != len(set(keys)):
        raise CourseFileError(f"{path.name}: two questions share a key")
    return {
        "slug": path.stem,
        "title": str(raw["title"]),
        "lesson": raw.get("lesson") or None,
        "order": int(raw.get("order", 0)),
        "description": str(raw.get("description") or ""),
        "pass_mark": int(raw.get("pass_mark", 70)),
        "max_attempts": raw.get("max_attempts"),
        "counts": raw.get("counts", "highest"),
        "show_answers": show_answers,
        "published": bool(raw.get("published", True)),
        "questions": questions,
    }


def read_quizzes(root: Path) -> list[dict]:
    return [read_quiz(path) for path in quiz_paths(root)]


def _plain_number(value: float):
    # 3.0 is written as 3, as a person would type it.
    return int(value) if float(value).is_integer() else value


def _question_for_file(question: dict) -> dict:
    out = {"key": question["key"], "kind": question["kind"], "prompt": question["prompt"]}
    if question["hint"]:
        out["hint"] = question["hint"]
    out["explanation"] = question["explanation"]
    if question["teaches"]:
        out["teaches"] = question["teaches"]
    if "choices" in question:
        out["choices"] = question["choices"]
    elif question["kind"] == "true_false":
        out["answer"] = question["answer"]
        if any(question["feedback"].values()):
            out["feedback"] = question["feedback"]
    elif "accepted" in question:
        out["accepted"] = question["accepted"]
    elif question["kind"] == "lab":
        out["lab_steps"] = _steps_for_file(question["lab_steps"])
    else:
        out["answer"] = _plain_number(question["answer"])
        out["tolerance"] = _plain_number(question["tolerance"])
    if question.get("wrong_answers"):
        number = question["kind"] == "number"
        out["wrong_answers"] = [
            {
                "answer": _plain_number(w["answer"]) if number else w["answer"],
                "feedback": w["feedback"],
            }
            for w in question["wrong_answers"]
        ]
    return out


def write_quiz(root: Path, slug: str, fields: dict) -> Path:
    out = {name: fields[name] for name in QUIZ_FIELDS if name != "questions"}
    if out["lesson"] is None:
        del out["lesson"]
    out["questions"] = [_question_for_file(q) for q in fields["questions"]]
    path = root / "quizzes" / f"{slug}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_dump(out), encoding="utf-8")
    return path


EXPERIMENT_FIELDS = ("title", "lesson", "teaches", "order", "published", "steps")
_EXPERIMENT_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def experiment_paths(root: Path) -> list[Path]:
    return sorted((root / "experiments").glob("*.yaml"))


def read_experiment(path: Path) -> dict:
    """One experiment file; its id is the file name. Names the file and field at fault."""
    name = f"experiments/{path.name}"
    if not _EXPERIMENT_ID.match(path.stem):
        raise CourseFileError(f"{name}: the file name is the experiment's id: a-z, 0-9 and -")
    raw = _read_mapping(path, name, "experiment", EXPERIMENT_FIELDS)
    for field_name in ("title", "lesson"):
        if not isinstance(raw.get(field_name), str) or not raw[field_name].strip():
            raise CourseFileError(f"{name}: '{field_name}' is needed, as text")
    lesson = raw["lesson"].strip()
    teaches = raw.get("teaches") or lesson
    if not isinstance(teaches, str) or teaches.partition("#")[0] != lesson:
        raise CourseFileError(
            f"{name}: 'teaches' must be '{lesson}#<section>', a section of its own lesson"
        )
    order = raw.get("order", 0)
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise CourseFileError(f"{name}: 'order' must be a whole number >= 0")
    published = raw.get("published", True)
    if not isinstance(published, bool):
        raise CourseFileError(f"{name}: 'published' must be true or false")
    return {
        "slug": path.stem,
        "title": raw["title"].strip(),
        "lesson": lesson,
        "teaches": teaches,
        "order": order,
        "published": published,
        "steps": _steps(raw.get("steps"), name, experiment=True),
    }


def read_experiments(root: Path) -> list[dict]:
    return [read_experiment(path) for path in experiment_paths(root)]


def write_experiment(root: Path, slug: str, fields: dict) -> Path:
    out = {name: fields[name] for name in EXPERIMENT_FIELDS if name != "steps"}
    out["steps"] = _steps_for_file(fields["steps"])
    path = root / "experiments" / f"{slug}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_dump(out), encoding="utf-8")
    return path
