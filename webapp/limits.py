"""The request body limit (issue 24, item 7): a pure ASGI middleware, so a body over the limit is
refused (413, a Chinese/English problem) before anything reads it into memory.

A declared `Content-Length` over the limit is answered at once, unread. A body without one (chunked)
or longer than it declared is counted as it streams in: at the first chunk over the limit the app's
reading stops, whatever the app would have answered is dropped, and the 413 goes out instead; at most
the limit plus one chunk was ever held."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(Exception):
    """Raised into the app by its `receive` when the body passes the limit."""


def too_large_body(max_bytes: int) -> bytes:
    field = "body"
    return json.dumps({"error": "请求体过大 / request body too large", "detail": [{
        "field": field, "message": f"{field}：请求体不能超过 {max_bytes} 字节 / {field}: the request body "
                                   f"must not exceed {max_bytes} bytes"}]}, ensure_ascii=False).encode()


class BodyLimit:
    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = too_large_body(self.max_bytes)
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers") or []:
            if name.lower() == b"content-length" and value.strip().isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        seen = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal seen, over
            if over:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body") or b"")
                if seen > self.max_bytes:
                    over = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to a truncated body is dropped: the 413 below is the answer
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._refuse(send)
