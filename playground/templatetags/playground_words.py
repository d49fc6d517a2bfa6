"""Words the playground's script reads from its page: the glossary's own names for its
entries, so that an error's link says "Glossary: address already in use (EADDRINUSE)"
rather than a code, and the playground's vocabulary (playground.vocabulary) for a page
whose view does not pass it (a lesson's panel); no name is written a second time in
the script."""

import json
import re

from django import template

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
    """JSON, slug -> words, for a data-glossary-words attribute (escaped as any value):
    an attribute, not a script element, so a page keeps its one script."""
    from lessons.models import GlossaryTerm  # here: loading the tag library needs no models

    words = {
        slug: words_for(term, aliases)
        for slug, term, aliases in GlossaryTerm.objects.values_list("slug", "term", "aliases")
    }
    return json.dumps(words, ensure_ascii=False, sort_keys=True)


@register.simple_tag
def playground_vocabulary():
    """playground.vocabulary(), for `{% playground_vocabulary as vocabulary %}` and then
    `{{ vocabulary|json_script:"playground-vocabulary" }}`."""
    from playground.vocabulary import vocabulary  # here: loading the tag library stays light

    return vocabulary()
