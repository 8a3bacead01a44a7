"""Reading requests: bodies within a limit, UTF-8 text, page numbers, the origin.

Reading requests: bodies within a limit, text that must be UTF-8, page numbers, the origin."""

from __future__ import annotations

from starlette.requests import Request

from server.web.errors import BadRequest, PayloadTooLarge


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused with 413 as soon as it passes the limit (never read whole first)."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"The request body is larger than the limit of {max_bytes} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"The request body is larger than the limit of {max_bytes} bytes.")
    return bytes(body)


def utf8(data: bytes, what: str) -> str:
    """Text sent to us, which must be UTF-8; a 400 names the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"The {what} is not valid UTF-8 (byte {error.start}).") from None


def whole_number(raw: str) -> bool:
    """ASCII digits only (str.isdigit also accepts '²'), and few enough to be a sensible count."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 12


def page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not whole_number(raw) or int(raw) < 1:
        raise BadRequest(f"page must be a positive whole number, not '{raw[:40]}'.")
    return int(raw)


def origin(request: Request) -> str:
    """Where this server is reached ("http://127.0.0.1:8000"), for URLs that must resolve here."""
    return str(request.base_url).rstrip("/")
