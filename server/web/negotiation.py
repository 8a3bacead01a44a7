"""Content negotiation: Accept -> one of the offered formats, or 406 naming what is available.

Built on werkzeug's Accept parser (q-values, wildcards, specificity). Two decisions of ours:
a `charset` parameter never excludes a format, because every text we send is UTF-8; and the
primary media type of each format is offered before its aliases, so that a wildcard such as
text/* picks text/csv rather than the alias text/xml.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from werkzeug.datastructures import LanguageAccept, MIMEAccept
from werkzeug.http import parse_accept_header

from server.formats import Format
from server.web.errors import NotAcceptable

_CHARSET = re.compile(r";\s*charset\s*=\s*[^;,]*", re.IGNORECASE)


def accepted(header: str | None) -> MIMEAccept:
    return parse_accept_header(_CHARSET.sub("", header or ""), MIMEAccept)


def negotiate(header: str | None, offered: Sequence[Format], default: Format | None = None) -> Format:
    """The offered format the client prefers; the default when it states no preference; 406 when
    it accepts none of them."""
    default = default or offered[0]
    if not header or not header.strip():
        return default
    best = _best_match(header, tuple(offered))
    if best is None:
        raise NotAcceptable(offered)
    return best


def best_format(header: str | None, offered: Sequence[Format]) -> Format | None:
    """The offered format the client prefers, or None when it states no preference or accepts none."""
    if not header or not header.strip():
        return None
    return _best_match(header, tuple(offered))


def preference(header: str | None, fmt: Format) -> float:
    """How much the client wants this format (its q-value, through wildcards): 1 when it states no
    preference, 0 when it refuses it or does not name it at all."""
    if not header or not header.strip():
        return 1.0
    return _preference(header, fmt)


@lru_cache(maxsize=1024)
def _preference(header: str, fmt: Format) -> float:
    accept = accepted(header)
    return max(accept.quality(media_type) for media_type in fmt.media_types)


@lru_cache(maxsize=1024)
def _best_match(header: str, offered: tuple[Format, ...]) -> Format | None:
    """Memoised: clients send the same few Accept headers, and parsing one costs more than the
    rest of a cheap request's protocol work."""
    candidates = [f.media_type for f in offered] + [alias for f in offered for alias in f.aliases]
    best = accepted(header).best_match(candidates)
    return None if best is None else next(f for f in offered if best in f.media_types)


def accepts_encoding(header: str | None, coding: str) -> bool:
    """Whether Accept-Encoding allows a content coding ("gzip", also as x-gzip or *)."""
    accept = parse_accept_header(header or "", MIMEAccept)
    return any(value.lower() in (coding, f"x-{coding}", "*") and quality > 0 for value, quality in accept)


def negotiate_language(header: str | None, available: Sequence[str], default: str = "en") -> str:
    """The reader's language among ours (Accept-Language, with 'fi-FI' matching 'fi')."""
    if not header:
        return default
    best = parse_accept_header(header, LanguageAccept).best_match(list(available), default=default)
    return best or default
