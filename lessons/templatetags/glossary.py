"""The glossary's own names for its entries, for pages that link errors to it.

Rules: an error's link says "Glossary: address already in use (EADDRINUSE)" rather than
a code, so the glossary's words are handed to the page as JSON in an attribute (escaped
as any value): an attribute, not a script element, so a page keeps its one script, and
no name is written a second time in the script. The playground's pages load this library
(`{% load glossary %}`): a template's load, not a Python import, so the playground app
does not depend on this one.
"""

import json
import re

from django import template

from lessons.models import GlossaryTerm

register = template.Library()

CODE = re.compile(r"^[A-Z0-9_]+$")


def words_for(term: str, aliases: str) -> str:
    """An error name's first alias in words, with the name; any other term as it is."""
    first = next((a.strip() for a in aliases.split(",") if a.strip()), "")
    if CODE.match(term) and first:
        return f"{first[0].lower()}{first[1:]} ({term})"
    return term


@register.simple_tag
def glossary_words():
    """JSON, slug -> words, for a data-glossary-words attribute."""
    words = {
        slug: words_for(term, aliases)
        for slug, term, aliases in GlossaryTerm.objects.values_list("slug", "term", "aliases")
    }
    return json.dumps(words, ensure_ascii=False, sort_keys=True)
