"""From a template and a context to the subject, the HTML and the plain-text parts.

A template's MJML is compiled once per version (mjml-python) and kept compiled; the
Django variables in it are filled per message, then the CSS is inlined (css-inline)
and a plain-text part is written from the HTML. Values are HTML-escaped, so a name like
`<script>` arrives as text.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from html import unescape
from pathlib import Path

import css_inline
import mjml
from django.template import Context, Engine, Template
from django.utils import translation

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
def compiled(body: str) -> Template:
    """The layout with this body, compiled from MJML to HTML once, as a Django template."""
    layout = (DEFAULTS / "_layout.mjml").read_text(encoding="utf-8")
    try:
        html = mjml.mjml2html(layout.replace("{{ body }}", body), fonts={})
    except Exception as exc:  # mrml names the problem; the merchant sees it in the editor
        raise TemplateProblem(f"the MJML does not compile: {exc}") from None
    try:
        return _engine.from_string(html)
    except Exception as exc:
        raise TemplateProblem(f"a template variable or tag is broken: {exc}") from None


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
        html = compiled(source.body).render(Context(values))
    html = _inliner.inline(html)
    return Rendered(subject, preheader, html, plain_text(html))


@lru_cache(maxsize=256)
def _line_template(template: str) -> Template:
    return _text_engine.from_string(template)


def _line(template: str, values: dict) -> str:
    try:
        text = _line_template(template).render(Context(values))
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
    out: list[str] = []
    skipping = hidden = 0
    links: list[tuple[str | None, int]] = []
    # The head (MJML's styles, a third of the email) holds nothing to read: begin at the body.
    body = html.find("<body")
    for match in _TOKENS.finditer(html, max(body, 0)):
        closing, tag, attrs = match.group(1, 2, 3)
        if tag is None:
            text = match.group(0)
            if not skipping and not hidden and not text.startswith("<!"):
                out.append(re.sub(r"\s+", " ", unescape(text)))  # lines tidied at the end
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
                links.append((href, len(out)))
            continue
        if tag in _SKIP:
            skipping = max(0, skipping - 1)
        if tag == "div" and hidden:
            hidden -= 1
        if tag in _BLOCKS or tag == "tr":
            out.append("\n")
        if tag == "a" and links:
            href, start = links.pop()
            label = "".join(out[start:]).strip()
            if href and href.startswith(("http://", "https://", "mailto:")) and href != label:
                out.append(f" ({href})" if label else href)
    lines = [" ".join(line.split()) for line in "".join(out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
