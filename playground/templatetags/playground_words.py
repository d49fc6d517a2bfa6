"""Words the playground's script reads from its page: the playground's vocabulary
(playground.vocabulary), put in the same way on every page that runs a playground (the
playground page, a lesson's panel); no name is written a second time in the script. The
glossary's words for error links come from the lessons app's `glossary` library, which
the templates load beside this one."""

from django import template

register = template.Library()


@register.simple_tag
def playground_vocabulary():
    """playground.vocabulary(), for `{% playground_vocabulary as vocabulary %}` and then
    `{{ vocabulary|json_script:"playground-vocabulary" }}`."""
    from playground.vocabulary import vocabulary  # here: loading the tag library stays light

    return vocabulary()
