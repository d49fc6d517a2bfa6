"""Markdown to safe HTML for lessons.

Rules:
- Staff write Markdown and may use inline HTML, but every rendered page goes
  through nh3 with an allow-list, so no script, event handler or
  javascript: URL survives, whatever the source says. Inline SVG is allowed for
  diagrams, limited to shapes, text and their geometry (no links, no styles).
- Headings h2 and h3 get stable ids from their text (deep links keep working
  while the heading text stays), and form the table of contents.
- The first mention of each glossary term in a lesson's prose links to its
  glossary entry; headings, code and existing links are left alone.
"""

import re
from dataclasses import dataclass, field

import nh3
from django.utils.text import slugify
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin

SVG_TAGS = {"svg", "title", "desc", "g", "line", "rect", "circle", "polygon", "text", "tspan"}
_SVG_POSITION = {"x", "y", "dx", "dy", "text-anchor"}
ALLOWED_TAGS = {
    "a",
    "abbr",
    "aside",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    "var",
    # Inline SVG for diagrams that stay text (readable, searchable, zoomable): shapes
    # and text only. No <script>, <style>, <foreignObject>, <use>, <image>, <a> or
    # animation elements, and no href, style or event attributes on any of them.
    *SVG_TAGS,
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "title", "lang"},
    "a": {"href", "aria-label"},
    "img": {"src", "alt", "width", "height"},
    "th": {"scope", "colspan", "rowspan", "style"},
    "td": {"colspan", "rowspan", "style"},
    "ol": {"start"},
    "svg": {"viewBox", "width", "height", "role", "aria-labelledby", "focusable"},
    "line": {"x1", "y1", "x2", "y2"},
    "rect": {"x", "y", "width", "height", "rx"},
    "circle": {"cx", "cy", "r"},
    "polygon": {"points"},
    "text": _SVG_POSITION,
    "tspan": _SVG_POSITION,
}
# Classes go only here: ammonia refuses "class" in ALLOWED_ATTRIBUTES as well.
ALLOWED_CLASSES = {
    "a": {"glossary-term", "header-anchor"},
    "aside": {"note", "key-idea", "more-precisely"},
    "div": {"note", "key-idea"},
    "span": {"five-tuple"},
    "figure": {"diagram", "narrow"},
    "line": {"lifeline", "packet", "packet-data", "packet-close"},
    "polygon": {"packet", "packet-data", "packet-close"},
    "rect": {"box"},
    "text": {"side", "state", "label"},
}


@dataclass
class GlossaryEntry:
    slug: str
    term: str
    names: list[str]
    definition: str = ""


@dataclass
class Rendered:
    html: str
    toc: list[dict] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)


def _heading_slug(text: str) -> str:
    return slugify(text) or "section"


def _build_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "typographer": False}).enable("table")
    anchors_plugin(
        md,
        min_level=2,
        max_level=3,
        slug_func=_heading_slug,
        permalink=True,
        permalinkSymbol="#",
    )
    return md


_parser = _build_parser()


def _term_pattern(entries: list[GlossaryEntry]) -> re.Pattern | None:
    names = {}
    for entry in entries:
        for name in entry.names:
            names.setdefault(name.lower(), entry.slug)
    if not names:
        return None
    # Longest first, so "IP address" wins over "address"; an optional plural.
    alternatives = sorted(names, key=len, reverse=True)
    body = "|".join(re.escape(name) + r"(?:e?s)?" for name in alternatives)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)


def _slug_for(match_text: str, entries: list[GlossaryEntry]) -> str | None:
    lowered = match_text.lower()
    best = None
    for entry in entries:
        for name in entry.names:
            name = name.lower()
            if lowered in (name, name + "s", name + "es") and (best is None or len(name) > best[0]):
                best = (len(name), entry.slug)
    return best[1] if best else None


def _link_terms(tokens: list[Token], entries: list[GlossaryEntry], url: str) -> list[str]:
    """Turn the first prose mention of each term into a link; return linked slugs."""
    pattern = _term_pattern(entries)
    if pattern is None:
        return []
    by_slug = {entry.slug: entry for entry in entries}
    linked: list[str] = []
    in_heading = False
    for block in tokens:
        if block.type == "heading_open":
            in_heading = True
        elif block.type == "heading_close":
            in_heading = False
        if block.type != "inline" or in_heading or not block.children:
            continue
        children: list[Token] = []
        link_depth = 0
        for child in block.children:
            if child.type == "link_open":
                link_depth += 1
            elif child.type == "link_close":
                link_depth -= 1
            if child.type != "text" or link_depth:
                children.append(child)
                continue
            children.extend(_split_text(child, pattern, entries, by_slug, linked, url))
        block.children = children
    return linked


def _split_text(token, pattern, entries, by_slug, linked, url) -> list[Token]:
    text = token.content
    out: list[Token] = []
    pos = 0
    for match in pattern.finditer(text):
        slug = _slug_for(match.group(0), entries)
        if slug is None or slug in linked:
            continue
        linked.append(slug)
        if match.start() > pos:
            out.append(_text(text[pos : match.start()]))
        link = Token("link_open", "a", 1)
        link.attrs = {
            "href": f"{url}#{slug}",
            "class": "glossary-term",
            "title": by_slug[slug].definition,
        }
        out.extend([link, _text(match.group(0)), Token("link_close", "a", -1)])
        pos = match.end()
    if not out:
        return [token]
    if pos < len(text):
        out.append(_text(text[pos:]))
    return out


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _label_permalinks(tokens: list[Token]) -> None:
    # A bare "#" means nothing to a screen reader; say where the link goes.
    for block in tokens:
        for child in block.children or []:
            if child.type == "link_open" and child.attrs.get("class") == "header-anchor":
                child.attrs["aria-label"] = "Link to this section"


def _toc(tokens: list[Token]) -> list[dict]:
    toc = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h2", "h3"):
            inline = tokens[index + 1]
            title = "".join(
                child.content
                for child in _outside_links(inline.children or [])
                if child.type in ("text", "code_inline")
            ).strip()
            toc.append({"level": int(token.tag[1]), "id": token.attrs.get("id"), "title": title})
    return toc


def toc_tree(toc: list[dict]) -> list[dict]:
    """The flat table of contents (each entry a `level` 2 or 3) as the page lists it:
    each ### entry in a list of its own under the ## entry before it, so the numbered
    list counts sections only (1, 2, 3…, never a sub-section's place). A ### entry with
    no ## before it stands at the top."""
    tree: list[dict] = []
    for entry in toc:
        item = {**entry, "children": []}
        if entry["level"] > 2 and tree and tree[-1]["level"] == 2:
            tree[-1]["children"].append(item)
        else:
            tree.append(item)
    return tree


def _outside_links(children: list[Token]):
    depth = 0
    for child in children:
        if child.type == "link_open":
            depth += 1
        elif child.type == "link_close":
            depth -= 1
        elif not depth:
            yield child


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        filter_style_properties={"text-align"},
        link_rel=None,
    )


def render_inline(text: str) -> str:
    """One line of Markdown (a quiz prompt), without a wrapping paragraph."""
    return sanitise(_parser.renderInline(text))


def render(markdown: str, glossary: list[GlossaryEntry] = (), glossary_url: str = "") -> Rendered:
    env: dict = {}
    tokens = _parser.parse(markdown, env)
    linked = _link_terms(tokens, list(glossary), glossary_url)
    _label_permalinks(tokens)
    html = _parser.renderer.render(tokens, _parser.options, env)
    return Rendered(html=sanitise(html), toc=_toc(tokens), terms=linked)
