"""`Idempotency-Key` on the intake API (issue 24, item 8), after the IETF draft
(draft-ietf-httpapi-idempotency-key-header): a key is scoped to its endpoint and its caller, and is
bound to the request it first came with.

- The key stored with the case is `POST <path>|<caller>|sha256(key)`: the same key on another
  endpoint, or from another caller, is another request (a new case).
- The request's fingerprint — sha-256 of the canonical body (the validated model as JSON, keys
  sorted: the same request however it was spaced or ordered) — is stored with the case. The same
  key with another body answers 422 and files nothing; with the same body, the first case (200).

The caller is the authenticated one (webapp/auth.py puts it on `request.state.caller`): `key:<id>` for
an API key, `staff:<email>` for a signed-in staff member. Two systems using the same key text file two
cases; neither can fetch the other's case by guessing its key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from fastapi import Request
from pydantic import BaseModel

from tasks.platform.intake import IntakeError

ANONYMOUS = "anonymous"


def caller_of(request: Request) -> str:
    caller = getattr(request.state, "caller", None)
    return caller.id if caller is not None else ANONYMOUS


def scoped_key(endpoint: str, caller: str, key: str | None) -> str | None:
    if not key:
        return None
    return f"{endpoint}|{caller}|{hashlib.sha256(key.encode()).hexdigest()}"


def fingerprint(body: BaseModel) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def once(request: Request, body: BaseModel, key: str | None,
         file: Callable[[str | None, str], tuple[Any, bool]]) -> Callable[[], tuple[Any, bool]]:
    """`file(scoped_key, fingerprint)` → (case, created), refusing a key reused with another body."""
    endpoint = f"{request.method} {request.scope.get('route').path if request.scope.get('route') else request.url.path}"
    scoped, fp = scoped_key(endpoint, caller_of(request), key), fingerprint(body)

    def run() -> tuple[Any, bool]:
        case, created = file(scoped, fp)
        if not created and scoped and case.request_fingerprint != fp:
            raise IntakeError("Idempotency-Key", "该键已用于内容不同的请求，未受理（请换一个新键）",
                              "this key was used with a different request body; nothing was filed "
                              "(use a new key)")
        return case, created

    return run
