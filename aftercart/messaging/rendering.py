"""From a template and a context to the subject, the HTML and the plain-text parts.

A template's MJML is compiled once per version (mjml-python) and its CSS inlined
(css-inline), and it is kept so; the Django variables in it are filled per message, and
a plain-text part is written from the same template. Values are HTML-escaped, so a name like
`<script>` arrives as text.
"""

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from html import unescape
from pathlib import Path

import css_inline
import mjml
from django.template import Context, Engine, Template
from django.utils import translation

log = logging.getLogger(__name__)
DEFAULTS = Path(__file__).parent / "defaults"
SEPARATOR = "\n---\n"

_engine = Engine(builtins=["aftercart.messaging.templatetags.messaging"], autoescape=True)
_text_engine = Engine(builtins=["aftercart.messaging.templatetags.messaging"], autoescape=False)
# Remote stylesheets are never fetched: a message is built from what is on this machine.
_inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=True)


class TemplateProblem(ValueError):
    """A template that cannot be used, with what is wrong in words a merchant can act on."""


@dataclass(frozen=True)
class Source:
    subject: str
    preheader: str
    body: str  # MJML sections with Django variables
    locale: str
    version: str  # "default" or the shop's version number


@dataclass(frozen=True)
class Rendered:
    subject: str
    preheader: str
    html: str
    text: str


@lru_cache(maxsize=64)
def read_default(kind: str, locale: str) -> Source | None:
    """A default template, read from the package once per process."""
    path = DEFAULTS / f"{kind}.{locale}.mjml"
    if not path.is_file():
        return None
    subject, preheader, body = parse(path.read_text(encoding="utf-8"))
    return Source(subject, preheader, body, locale, "default")


def parse(text: str) -> tuple[str, str, str]:
    """Split a template file: `subject:` and `preheader:` lines, `---`, the MJML body."""
    if SEPARATOR not in text:
        raise TemplateProblem("a template starts with subject: and preheader: lines, then ---")
    head, body = text.split(SEPARATOR, 1)
    fields = {}
    for line in head.strip().splitlines():
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if not fields.get("subject"):
        raise TemplateProblem("the template has no subject: line")
    return fields["subject"], fields.get("preheader", ""), body


@lru_cache(maxsize=256)
def _html_source(body: str) -> str:
    """The layout with this body, compiled from MJML to HTML (Django variables still in it)."""
    layout = (DEFAULTS / "_layout.mjml").read_text(encoding="utf-8")
    try:
        return mjml.mjml2html(layout.replace("{{ body }}", body), fonts={})
    except Exception as exc:  # mrml names the problem; the merchant sees it in the editor
        raise TemplateProblem(f"the MJML does not compile: {exc}") from None


@lru_cache(maxsize=256)
def compiled(body: str) -> Template:
    """The layout with this body, compiled from MJML to HTML once, as a Django template."""
    try:
        return _engine.from_string(_html_source(body))
    except Exception as exc:
        raise TemplateProblem(f"a template variable or tag is broken: {exc}") from None


@lru_cache(maxsize=256)
def compiled_inlined(body: str) -> tuple[Template, bool]:
    """The layout with this body as a Django template, and whether its CSS is inlined in
    it already (else each message's HTML is inlined after it is filled)."""
    held = inlined_once(_html_source(body))
    if held is not None:
        try:
            return _engine.from_string(held), True
        except Exception:
            log.warning("a template inlined once did not compile; inlining per message")
    return compiled(body), False


# CSS inlined once per template version instead of into each message (a third of a
# millisecond an email, a tenth of a worker's time when it sends). Django's tags are set
# aside first, as HTML comments (they may stand between table rows, where a parser would
# move text) and variables as bare words (they may stand in text, in an attribute, or as
# a value in the CSS, like the brand colour), and put back after. A filled variable is
# text, never an element, so the rules land on the same elements as they would per
# message, unless the CSS depends on what the tags produce. So each message is inlined as
# before when: a tag stands inside a <style>, or a variable in CSS other than as a value;
# a selector counts or follows siblings (an {% if %} changes those); a branch of a tag
# opens or closes elements the other does not (then the unfilled template nests them
# otherwise); a tag sits inside an element's start tag, or a variable in its class or id
# (selectors read those); markup is let through unescaped (|safe, |urlize, ...); the
# template holds our placeholder words itself; or a tag does not come back whole.
_COMMENT = re.compile(r"(<!--.*?-->)", re.S)
_MARKUP_FILTERS = re.compile(
    r"\|\s*(?:safe|safeseq|linebreaks|linebreaksbr|urlize|urlizetrunc|unordered_list)\b"
    r"|autoescape\s+off"
)
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}  # fmt: skip
_OPENS = re.compile(r"\{%-?\s*(if|for|with|ifchanged|block|spaceless|filter|autoescape|comment)\b")
_MIDDLE = re.compile(r"\{%-?\s*(else|elif|empty)\b")
_CLOSES = re.compile(r"\{%-?\s*end\w*")
_READ_BY_SELECTORS = re.compile(r"""\b(?:class|id)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.I)
_STYLE_TAG = re.compile(r"<style\b[^>]*>(.*?)</style>", re.S | re.I)
_SIBLINGS = re.compile(r":(?:first|last|nth|only)-|:empty|[+~]")
_HELD = re.compile(r"<!--aftercarttag(\d+)-->|&lt;!--aftercarttag(\d+)--&gt;|aftercartvar(\d+)x")
_IMPLIED_TBODY = re.compile(r"(<table\b[^>]*>\s*)((?:<!--aftercarttag\d+-->\s*)+)<tbody>")
_VALUE = re.compile(r":\s*aftercartvar\d+x\s*(?:!important\s*)?[;}]")


def inlined_once(html: str) -> str | None:
    """`html` (a compiled template, Django's tags in it) with its CSS inlined, or None when
    that must wait until each message is filled (see above)."""
    if _MARKUP_FILTERS.search(html) or "aftercartvar" in html or "aftercarttag" in html:
        return None
    tags: list[str] = []

    def hold(match: re.Match, in_comment: bool = False) -> str:
        tags.append(match.group(0))
        n = len(tags) - 1
        if in_comment or match.group(0).startswith("{{"):
            return f"aftercartvar{n}x"
        return f"<!--aftercarttag{n}-->"

    # Inside a comment (Outlook's conditional ones hold markup) a tag is a bare word too:
    # a comment there would end the one it stands in.
    held = "".join(
        _DJANGO.sub(lambda m: hold(m, in_comment=True), part)
        if part.startswith("<!--")
        else _DJANGO.sub(hold, part)
        for part in _COMMENT.split(html)
    )
    for css in _STYLE_TAG.findall(held):
        if "aftercarttag" in css or _SIBLINGS.search(css):
            return None
        if css.count("aftercartvar") != len(_VALUE.findall(css)):
            return None
    if not _same_elements_in_every_branch(held, tags):
        return None
    back: set[int] = set()

    def restore(match: re.Match) -> str:
        n = int(next(g for g in match.groups() if g is not None))
        back.add(n)
        return tags[n]

    # A parser puts the <tbody> a table's rows imply after a tag that opens the table's
    # first rows ({% for %}<tr>): filled, each pass would open a tbody of its own. Moved
    # before the tag, the rows share one, as when each message is inlined.
    inlined = _IMPLIED_TBODY.sub(r"\1<tbody>\2", _inliner.inline(held))
    inlined = _HELD.sub(restore, inlined)
    return inlined if back == set(range(len(tags))) else None


def _same_elements_in_every_branch(held: str, tags: list[str]) -> bool:
    """Whether every block tag's branches each open and close the same elements, no tag
    sits inside an element's start tag, and no variable in a class or id."""
    depth, frames = 0, []
    for token in _TOKENS.finditer(held):
        text = token.group(0)
        if text.startswith("<!--aftercarttag"):
            tag = tags[int(text[16:-3])]
            if _OPENS.match(tag):
                frames.append(depth)
            elif _MIDDLE.match(tag) or _CLOSES.match(tag):
                if not frames or frames[-1] != depth:
                    return False
                if _CLOSES.match(tag):
                    frames.pop()
            continue
        name = token.group(2)
        if not name:
            continue
        attributes = token.group(3) or ""
        if "aftercarttag" in attributes or any(
            "aftercartvar" in value for value in _READ_BY_SELECTORS.findall(attributes)
        ):
            return False
        if token.group(1):
            depth -= 1
        elif name.lower() not in _VOID and not attributes.rstrip().endswith("/"):
            depth += 1
    return not frames


@lru_cache(maxsize=256)
def compiled_text(body: str) -> Template | None:
    """The plain-text part as a template of its own, written once from the compiled HTML
    (variables and tags kept), so each message fills it instead of reading its HTML again.
    None when the HTML's tags and the template's do not nest (an {% if %} that opens in an
    attribute and closes in the text): such a template's text is written per message."""
    try:
        return _text_engine.from_string(_text_of(_html_source(body), template=True))
    except Exception:
        return None


def check(subject: str, preheader: str, body: str) -> None:
    """Raise TemplateProblem if the template would not compile or render."""
    compiled(body)
    for line in (subject, preheader):
        try:
            _text_engine.from_string(line)
        except Exception as exc:
            raise TemplateProblem(f"the subject or preheader is broken: {exc}") from None


def render(source: Source, context: dict) -> Rendered:
    """Fill the template in the message's language; the footer's words come from Aftercart."""
    with translation.override(source.locale):
        values = {**context, "footer": _footer()}
        subject = _line(source.subject, values)
        preheader = _line(source.preheader, values)
        values.update(subject=subject, preheader=preheader)
        template, inlined = compiled_inlined(source.body)
        html = template.render(Context(values))
        text_template = compiled_text(source.body)
        text = (
            None
            if text_template is None
            else _tidy(text_template.render(Context(values, autoescape=False)))
        )
    if not inlined:
        html = _inliner.inline(html)
    return Rendered(subject, preheader, html, plain_text(html) if text is None else text)


@lru_cache(maxsize=256)
def _line_template(template: str) -> Template:
    return _text_engine.from_string(template)


def _line(template: str, values: dict) -> str:
    try:
        text = _line_template(template).render(Context(values, autoescape=False))
    except Exception as exc:
        raise TemplateProblem(f"the subject or preheader is broken: {exc}") from None
    return " ".join(text.split())  # one line: a header never carries a line break


def _footer() -> dict:
    from django.utils.translation import gettext as _

    return {
        "why": _("You get this email because you ordered from us and said yes to our news."),
        "preferences": _("Email preferences"),
        "unsubscribe": _("Unsubscribe"),
        "transactional": _("You get this email about an order you placed with us."),
    }


_TOKENS = re.compile(
    r"<!--.*?-->|<![^>]*>|<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>|[^<]+|<",
    re.S,
)
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_STYLE = re.compile(r"""style\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "li", "table", "section"}
_SKIP = {"head", "style", "script", "title"}


def plain_text(html: str) -> str:
    """HTML to readable plain text: paragraphs kept, links written out, tables as lines.

    A single pass of one regular expression over the email (a parser in pure Python took
    most of the time of rendering an email)."""
    return _tidy(_text_of(html))


# In a text template, Django's variables and tags are set aside while the HTML is read (a
# filter's argument may hold a "<"), and put back where they were.
_DJANGO = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_ASIDE = re.compile("\x00(\\d+)\x00")
# A link, written as LABEL\x1fHREF between \x02 and \x03 and decided on once the values
# are in (the label may be the address itself, the address may be empty).
_LINK = re.compile("\x02([^\x02\x03]*?)\x1f([^\x02\x03]*?)\x03")


def _text_of(html: str, *, template: bool = False) -> str:
    out: list[str] = []
    kept: list[str] = []
    if template:

        def aside(match: re.Match) -> str:
            kept.append(match.group(0))
            return f"\x00{len(kept) - 1}\x00"

        html = _DJANGO.sub(aside, html.replace("\x00", ""))
    tags = [piece.startswith("{%") for piece in kept]
    skipping = hidden = 0
    links: list[str | None] = []
    # The head (MJML's styles, a third of the email) holds nothing to read: begin at the body.
    body = html.find("<body")
    for match in _TOKENS.finditer(html, max(body, 0)):
        closing, tag, attrs = match.group(1, 2, 3)
        if tag is None:
            text = match.group(0)
            if not skipping and not hidden and not text.startswith("<!"):
                out.append(re.sub(r"\s+", " ", unescape(text)))  # lines tidied at the end
                continue
        if template:
            # Not text (a tag, a comment, the head): its {% if %}s and {% for %}s still
            # decide what the text says, so they stay, in their place.
            out.extend(f"\x00{n}\x00" for n in _ASIDE.findall(match.group(0)) if tags[int(n)])
        if tag is None:
            continue
        tag = tag.lower()
        if not closing:
            if tag in _SKIP:
                skipping += 1
            if tag == "div":
                style = _STYLE.search(attrs)
                style = (style.group(1) or style.group(2) or "") if style else ""
                if hidden or "display:none" in style.replace(" ", "").lower():
                    hidden += 1  # the preheader: shown by mail apps in the list, not in the text
            if tag == "br" or tag in _BLOCKS:
                out.append("\n")
            elif tag in ("td", "th"):
                out.append("  ")
            if tag == "a":
                href = _HREF.search(attrs)
                href = unescape(next(g for g in href.groups() if g is not None)) if href else None
                links.append(href)
                out.append("\x02")
            continue
        if tag in _SKIP:
            skipping = max(0, skipping - 1)
        if tag == "div" and hidden:
            hidden -= 1
        if tag in _BLOCKS or tag == "tr":
            out.append("\n")
        if tag == "a" and links:
            out.append(f"\x1f{links.pop() or ''}\x03")
    text = "".join(out)
    if template:
        text = _ASIDE.sub(lambda m: unescape(kept[int(m.group(1))]), text)
    return text


def _link(match: re.Match) -> str:
    raw, href = match.group(1), match.group(2).strip()
    label = raw.strip()
    if not href.startswith(("http://", "https://", "mailto:")) or href == label:
        return raw
    if not label:
        return f"{raw}{href}"
    # The address after the words, the spaces around them where they were.
    return raw.replace(label, f"{label} ({href})", 1)


def _tidy(text: str) -> str:
    """Links written out, each line's spaces tidied, no more than one empty line in a row."""
    text = _LINK.sub(_link, text.replace("\x00", ""))
    # Left over from an anchor that never closed: markers, never text.
    text = text.replace("\x02", "").replace("\x1f", "").replace("\x03", "")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
