"""The approvers' web app: decision pages behind signed links, the intake API, case views, the dev
mailbox and the health check. `create_app` only assembles: the routes are `APIRouter`s per area
(webapp/routes/, webapp/grievances.py, webapp/complaints_legal.py, webapp/customer_list.py, the staff
sign-in in webapp/auth.py) and take the services, settings and caller as FastAPI dependencies
(webapp/deps.py) from what is set here on `app.state`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

import flows  # noqa: F401 - registers every procedure with the platform (flows/__init__.py)
from deployments.dev_mail import Mailbox, mailbox_path
from models.errors import describe_all, problem
from tasks.platform.flow_starts import FlowStartDispatcher
from tasks.platform.runtime import Services, services
from webapp import complaints_legal, customer_list, grievances
from webapp.auth import SESSION_COOKIE, AuthError, KeyCache, auth_error_response, auth_router, session_secret
from webapp.deps import refuse_nul
from webapp.limits import BodyLimit
from webapp.routes import cases, decisions, dev_mail, health, intake

log = logging.getLogger("kefu.web")


async def _auth(_req: Request, exc: AuthError) -> JSONResponse:
    return auth_error_response(exc)


async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(problem(describe_all(exc.errors())), status_code=422)


async def _http(req: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 400:  # a body that cannot be parsed at all (not UTF-8, broken form)
        return JSONResponse(problem([{"field": "body", "message": "body：请求体无法解析 / body: "
                                                                   "the request body cannot be parsed"}]),
                            status_code=422)
    return await http_exception_handler(req, exc)


def create_app(svc: Services, *, oidc_client_kwargs: dict[str, Any] | None = None) -> FastAPI:
    """The web app on `svc`; `oidc_client_kwargs` go to Authlib's httpx client (a test's fake IdP)."""
    settings = svc.settings
    # Flow runs are started in the background, never inside an intake request (tasks/platform/flow_starts.py):
    # woken right after each intake commit, and every few seconds for requests stored elsewhere.
    dispatcher = FlowStartDispatcher(svc)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.flow_start_in_web:
            dispatcher.start()
            dispatcher.wake()  # requests left by an earlier process or filed while it was down
        try:
            yield
        finally:
            dispatcher.stop()

    app = FastAPI(
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
        title="客服流程 Kefu Flows",
        description="Customer-service procedures as Prefect flows. 投诉、样品、档案更正等流程的接口与审批页面。",
        version="0.1.0",
        # /docs, /redoc and /openapi.json: dev only, unless enabled (KEFU_API_DOCS_ENABLED)
        **({} if settings.serves_api_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}),
    )
    # what the routes' dependencies read (webapp/deps.py)
    app.state.svc = svc
    app.state.flow_starts = dispatcher
    app.state.started_at = svc.clock.now()
    app.state.api_keys = KeyCache()  # keys verified once (webapp/auth.py); revocation is read live
    # the staff session: a signed cookie (HttpOnly, SameSite=Lax, Secure in prod) with a server-side id
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings.secret_key),
                       session_cookie=SESSION_COOKIE, max_age=int(settings.session_hours * 3600),
                       same_site="lax", https_only=settings.secure_cookies)
    # outermost: a body over the limit is refused before anything reads it
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_exception_handler(AuthError, _auth)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)

    app.include_router(auth_router(svc, oidc_client_kwargs))  # staff sign-in
    app.include_router(health.router)
    app.include_router(intake.router)
    app.include_router(grievances.router)  # product complaints (§7 C14–C15)
    app.include_router(complaints_legal.router)  # a complaint's legal-process flag (C27)
    app.include_router(customer_list.router)  # the customer list (A6)
    app.include_router(cases.router)
    app.include_router(decisions.router)
    # the dev mailbox: every decision link is in it, so dev only unless enabled (KEFU_DEV_MAIL_ENABLED)
    if settings.serves_dev_mail:
        app.state.mailbox = Mailbox(mailbox_path(settings.home))
        app.include_router(dev_mail.router)
    return app


def app_from_env() -> FastAPI:
    """uvicorn factory: `uvicorn webapp.app:app_from_env --factory`."""
    svc = services()
    svc.settings.check_for_start()
    return create_app(svc)
