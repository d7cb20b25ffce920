"""Read a request body, unpacking `Content-Encoding: gzip` within a size cap."""

import zlib

from starlette.requests import Request

from app.errors import InvalidInput, PayloadTooLarge

_GZIP = frozenset({"gzip", "x-gzip"})
_IDENTITY = frozenset({"", "identity"})
# wbits for zlib: 16 + 15 reads the gzip wrapper with the largest window.
_GZIP_WBITS = 16 + zlib.MAX_WBITS


async def read_body(request: Request, *, max_decompressed_bytes: int) -> bytes:
    """The body as sent, or unpacked when it is gzip; the raw size is capped upstream."""
    body = await request.body()
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in _IDENTITY:
        return body
    if encoding in _GZIP:
        return gunzip(body, max_bytes=max_decompressed_bytes)
    message = (
        f"Content-Encoding {encoding!r} is not supported; send the body as gzip "
        "or uncompressed"
    )
    raise InvalidInput(message, field="Content-Encoding")


def gunzip(body: bytes, *, max_bytes: int) -> bytes:
    """Unpack one gzip member, refusing output over `max_bytes` without inflating it all."""
    decompressor = zlib.decompressobj(wbits=_GZIP_WBITS)
    try:
        data = decompressor.decompress(body, max_bytes + 1)
    except zlib.error:
        message = "the body is marked gzip but is not valid gzip data"
        raise InvalidInput(message, field="body") from None
    if len(data) > max_bytes or decompressor.unconsumed_tail:
        message = (
            f"the gzip body unpacks to more than {max_bytes} bytes; send fewer "
            "calls per request"
        )
        raise PayloadTooLarge(message, field="body")
    if not decompressor.eof or decompressor.unused_data:
        message = "the gzip body is truncated or has trailing data; send one whole gzip stream"
        raise InvalidInput(message, field="body")
    return data
