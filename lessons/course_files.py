"""Read and write the course as files (content as code).

Layout under settings.COURSE_CONTENT_DIR:
    lessons/<slug>.md   YAML front matter (title, order, summary, published) + Markdown body
    glossary.yaml       a list of {term, slug, aliases, definition}

Errors name the file and the field, so a broken content file never loads half.
"""

from pathlib import Path

import frontmatter
import yaml

LESSON_FIELDS = ("title", "slug", "order", "summary", "published")


class CourseFileError(ValueError):
    pass


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
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
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
    path.write_text(
        yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
    )
    return path
