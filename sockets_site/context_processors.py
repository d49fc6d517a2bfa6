from django.urls import NoReverseMatch, reverse

# The site's sections in their fixed order. A section appears in the navigation
# only once its URL exists, so later features switch themselves on.
SECTIONS = [
    ("Lessons", "lessons:index"),
    ("Quizzes", "lessons:quiz_list"),
    ("Review", "review:index"),
    ("Playground", "playground:index"),
    ("Glossary", "lessons:glossary"),
]


def _navigation():
    items = []
    for label, name in SECTIONS:
        try:
            items.append({"label": label, "url": reverse(name), "name": name})
        except NoReverseMatch:
            continue
    return items


def site(request):
    nav = _navigation()
    path = request.path
    # The longest matching prefix wins, so /lessons/x/ marks "Lessons", not "/".
    current = max(
        (item for item in nav if path.startswith(item["url"])),
        key=lambda item: len(item["url"]),
        default=None,
    )
    for item in nav:
        item["current"] = item is current
    return {"nav": nav}
