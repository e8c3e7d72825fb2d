"""FastAPI dependencies of the web app's routes (as in FastAPI's full-stack template): the services,
the settings, the clock, the flow-start dispatcher and the dev mailbox, all taken from the app that
`create_app` assembled; the caller is `webapp.auth.require(scope)`. Also the app-wide input guard
`refuse_nul`. They are `async` (trivial: no thread-pool hop for each)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from deployments.dev_mail import Mailbox
from models.settings import Settings
from tasks.platform.flow_starts import FlowStartDispatcher
from tasks.platform.runtime import Services


async def get_services(request: Request) -> Services:
    return request.app.state.svc


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings(svc: ServicesDep) -> Settings:
    return svc.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_now(svc: ServicesDep) -> datetime:
    """The services' clock (a fake one in tests)."""
    return svc.clock.now()


NowDep = Annotated[datetime, Depends(get_now)]


async def get_dispatcher(request: Request) -> FlowStartDispatcher:
    """Starts the flow runs of filed cases in the background (tasks/platform/flow_starts.py)."""
    return request.app.state.flow_starts


DispatcherDep = Annotated[FlowStartDispatcher, Depends(get_dispatcher)]


async def get_mailbox(request: Request) -> Mailbox:
    return request.app.state.mailbox


MailboxDep = Annotated[Mailbox, Depends(get_mailbox)]


def _nul_fields(value: Any, where: tuple) -> list[tuple]:
    """Locations of strings holding a NUL character (PostgreSQL stores no NUL in text)."""
    if isinstance(value, str):
        return [where] if "\x00" in value else []
    if isinstance(value, dict):
        return [loc for k, v in value.items() for loc in
                ([(*where, k)] if "\x00" in str(k) else []) + _nul_fields(v, (*where, k))]
    if isinstance(value, list):
        return [loc for i, v in enumerate(value) for loc in _nul_fields(v, (*where, i))]
    return []


async def refuse_nul(request: Request) -> None:
    """Bad input, not a database error: a NUL character anywhere in the path, query, headers or body
    is refused with 422 before anything is read or stored. So is a JSON body naming one field twice
    ({"quantity": 1, "quantity": 1000}), or a query naming one parameter twice (?level=1&level=3):
    ambiguous, never "the last wins" (no route takes a list in its query)."""
    locs: list[tuple] = []
    if b"\x00" in unquote_to_bytes(request.scope.get("raw_path") or request.url.path.encode()):
        locs.append(("path",))
    locs += [("query", k) for k, v in request.query_params.multi_items() if "\x00" in k + v]
    locs += [("header", k) for k, v in request.headers.items() if "\x00" in k + v]
    body = await request.body()
    kind = request.headers.get("content-type", "")
    repeated: list[str] = []
    names = [k for k, _ in request.query_params.multi_items()]
    repeated_query = sorted({k for k in names if names.count(k) > 1})

    def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [k for k, _ in pairs]
        repeated.extend(sorted({k for k in names if names.count(k) > 1}))
        return dict(pairs)

    if body and "json" in kind:
        try:
            locs += _nul_fields(json.loads(body, object_pairs_hook=_pairs), ("body",))
        except ValueError:
            pass  # not JSON: FastAPI answers it
    if repeated or repeated_query:
        raise RequestValidationError([{"type": "duplicate_key", "loc": loc,
                                       "msg": "the field is given more than once, which is ambiguous"}
                                      for loc in [("query", k) for k in repeated_query] + [("body", k) for k in repeated]])
    elif b"\x00" in body or b"%00" in body:
        locs.append(("body",))
    if locs:
        raise RequestValidationError([{"type": "string_nul", "loc": loc, "msg": "NUL characters are not allowed"}
                                      for loc in locs])
