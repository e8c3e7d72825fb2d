"""Identity on every door of the web app (issue 24).

- Systems that file cases present an API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`),
  made by `kefu apikey create --name X --scope complaints,…` and stored as its SHA-256; each key may use
  its scopes only (models/access.py), and a revoked key is unknown.
- Staff sign in: with a password set by `kefu user set-password` (argon2id, tasks/platform/passwords.py), or
  through the company's OpenID Connect IdP (Authlib; KEFU_OIDC_*). Who they are and their roles come
  from the org directory; someone not in it cannot sign in. The session cookie `kefu_session` is
  Starlette's signed cookie (HttpOnly, SameSite=Lax, Secure in prod) holding a random session id whose
  SHA-256 is stored (tasks/platform/store_access.py): signing out, a new password or the session's end
  (KEFU_SESSION_HOURS) ends it whatever the cookie says.
- Decision links stay their own credential (webapp/app.py `/t/{token}`): nothing here applies to them.
- The filer follows from the credential (`filer_for`): a staff member files as themselves (another named
  person only with a role of models/access.py FILE_FOR_OTHERS_ROLES), a key bound to a person
  (`kefu apikey create --person`) as that person only, a system key as any holder of the role. The
  filer (key name or staff email) goes into the case's first event (`filed_by`, `filed_via`).
- The intake's key check costs no round trip of its own: a key once verified is kept in-process
  (`KeyCache`: its name, scopes and person never change), and whether it is still live is read in the
  intake's own transaction (tasks/platform/store.py `create_case`, `Filing.api_key_id`), so a key revoked by any
  process files nothing from its next request on. Reads and every other route check the key in the
  database on each request, as before.

Refusals: 401 without a (valid) credential, 403 with one that may not; `{"error": "中文 / English"}`,
nothing read or stored. Route dependencies run before the body is validated or anything is filed."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from fastapi import APIRouter, Request, Security
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel

from models.access import BACKFILL, INTAKE_SCOPES, key_hash, looks_like_key, may_backfill, may_file_for_others
from tasks.platform.passwords import sign_in
from tasks.platform.render import render
from tasks.platform.store_access import Filing

if TYPE_CHECKING:
    from authlib.integrations.starlette_client import StarletteOAuth2App

    from models.settings import Settings
    from models.tables import ApiKey
    from tasks.platform.runtime import Services

B = TypeVar("B", bound=BaseModel)  # an intake's request model

log = logging.getLogger("kefu.auth")  # who signed in or was refused; never a key, password or session id
SESSION_COOKIE = "kefu_session"
_SESSION_SALT = b"kefu.staff-session.v1"


@dataclass(frozen=True)
class Caller:
    """Who is calling: a system by its API key, or a signed-in staff member."""
    kind: str  # "api_key" | "staff"
    name: str  # the key's name, or the staff member's email
    key_id: int | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # the person who files: the staff member; a key's bound person; None for a system key
    person: str | None = None

    @property
    def filing(self) -> Filing:
        """Who files, for the case's first event; an API key is re-checked in the filing's transaction."""
        return Filing(by=self.name, via=self.kind, api_key_id=self.key_id)

    @property
    def id(self) -> str:
        """The caller's identity in Idempotency-Key scopes and events."""
        return f"key:{self.key_id}" if self.kind == "api_key" else f"staff:{self.name.lower()}"

    @property
    def staff(self) -> str | None:
        return self.name if self.kind == "staff" else None


class AuthError(Exception):
    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.status = status


def auth_error_response(exc: AuthError) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="kefu"'} if exc.status == 401 else {}
    return JSONResponse({"error": str(exc)}, status_code=exc.status, headers=headers)


def session_secret(secret_key: str) -> str:
    """The session cookie's signing key: derived from KEFU_SECRET_KEY, never the links' own key."""

    return hmac.new(secret_key.encode(), _SESSION_SALT, hashlib.sha256).hexdigest()


def _presented_key(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    return request.headers.get("x-api-key")


@dataclass(frozen=True)
class KnownKey:
    """What never changes of a verified key (its revocation is read live, never cached)."""
    id: int
    name: str
    scopes: frozenset[str]
    person: str | None


class KeyCache:
    """Keys verified in the database once, by their hash: only live keys that exist are kept (an
    unknown key is looked up each time), so the cache is as small as the key table."""

    def __init__(self) -> None:
        self._keys: dict[str, KnownKey] = {}
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def get(self, digest: str) -> KnownKey | None:
        return self._keys.get(digest)

    def put(self, digest: str, row: ApiKey) -> KnownKey:
        known = KnownKey(row.id, row.name, frozenset(row.scopes), row.person)
        with self._lock:
            self._keys[digest] = known
        return known

    def forget(self, key_id: int | None = None, digest: str | None = None) -> None:
        with self._lock:
            for d in [d for d, k in self._keys.items() if k.id == key_id or d == digest]:
                del self._keys[d]


REFUSED_KEY = ("API 密钥无效或已吊销", "the API key is invalid or revoked")


def identify(request: Request, *, live: bool = True) -> Caller | None:
    """The caller, or None when no credential was presented. A presented but unknown, malformed or
    revoked key is a 401 (never "anonymous"). `live=False` (the intake routes only): a key verified
    before is taken from the in-process cache, and its revocation is checked in the filing's own
    transaction instead (`Caller.filing`)."""
    svc = request.app.state.svc
    now = svc.clock.now()
    key = _presented_key(request)
    if key is not None:
        cache: KeyCache = request.app.state.api_keys
        digest = key_hash(key) if looks_like_key(key) else None
        known = cache.get(digest) if digest and not live else None
        if known is None:
            row = svc.store.api_key_for(key, now) if digest else None
            if row is None:
                cache.forget(digest=digest)  # revoked: the intake no longer takes it from the cache either
                log.warning("API key refused (unknown, malformed or revoked) for %s %s", request.method,
                            request.url.path)
                raise AuthError(401, *REFUSED_KEY)
            known = cache.put(digest, row)
        person = None
        if known.person:
            found = svc.org.find(known.person)
            if found is None:  # a key bound to someone who left the org directory files nothing
                log.warning("API key %s refused: its person is not in the org directory", known.name)
                raise AuthError(401, "此 API 密钥所属人员已不在组织架构中", "the API key's person is no longer "
                                                                     "in the org directory")
            person = found.email
        return Caller("api_key", known.name, known.id, known.scopes, person)
    sid = request.session.get("sid") if "session" in request.scope else None
    if isinstance(sid, str) and sid:
        email = svc.store.session_email(sid, now)
        person = svc.org.find(email) if email else None
        if person is not None:  # someone removed from the org directory is signed out
            return Caller("staff", person.email, person=person.email)
    return None


def filer_for(svc: Services, caller: Caller, named: str | None, field_name: str) -> str | None:
    """The person a case is filed as (`received_by`, `requested_by`, `salesperson`, `drafted_by`), from
    the credential: a system key → whoever it names (the intake checks the role; None: its default); a
    staff member or a key bound to a person → that person, and naming someone else is a 403 — unless a
    staff member with a role of FILE_FOR_OTHERS_ROLES names them."""
    me = caller.person
    if me is None:
        return named
    if not named:
        return me
    found = svc.org.find(str(named))
    if found is not None and found.email.lower() == me.lower():
        return me
    if caller.kind == "staff" and may_file_for_others(svc.org, me):
        return str(named)
    raise AuthError(403, f"{field_name}：只能以本人（{me}）名义提交，不能填写他人（{named}）",
                    f"{field_name}: you file as yourself ({me}), not as {named} "
                    "(leave it out, or ask someone who may file for others)")


def filed_as(svc: Services, caller: Caller, body: B, field_name: str) -> B:
    """The request with its filer field set by `filer_for` (the body as given when unchanged)."""
    named = getattr(body, field_name)
    person = filer_for(svc, caller, str(named) if named else None, field_name)
    return body if person == named else body.model_copy(update={field_name: person})


# declared so the OpenAPI document (and /docs' Authorize button) shows how a system authenticates; the
# headers are read by `identify` (auto_error off: a staff session needs neither)
_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key (kefu apikey create)")
_BEARER = HTTPBearer(auto_error=False, description="the same API key as a bearer token")


def require(scope: str) -> Callable[..., Caller]:  # a FastAPI dependency
    """A route dependency: an API key with `scope`, or a signed-in staff member (whose reads are
    narrowed by the route, need-to-know). The caller is kept on `request.state.caller`."""

    # an intake route files in one transaction that also checks the key (tasks/platform/store.py create_case)
    live = scope not in INTAKE_SCOPES

    def dependency(request: Request, _key: Any = Security(_API_KEY), _bearer: Any = Security(_BEARER)) -> Caller:
        caller = identify(request, live=live)
        if caller is None:
            raise AuthError(401, "需要登录或 API 密钥", "sign in or present an API key "
                                                     "(Authorization: Bearer <key> or X-API-Key)")
        if caller.kind == "api_key" and scope not in caller.scopes:
            raise AuthError(403, f"此 API 密钥无权使用 {scope}", f"this API key has no {scope} scope")
        request.state.caller = caller
        return caller

    dependency.__name__ = f"require_{scope}"
    return dependency


def caller_may_backfill(svc: Services, caller: Caller) -> bool:
    """received_at older than the window: a key with the backfill scope, or a staff role allowed to."""
    if caller.kind == "api_key":
        return BACKFILL in caller.scopes
    return may_backfill(svc.org, caller.name)


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no open redirect)."""
    v = (value or "").strip()
    return v if v.startswith("/") and not v.startswith(("//", "/\\")) and "\n" not in v and "\r" not in v else "/"


def _new_session(request: Request, svc: Services, email: str, via: str) -> None:
    """A fresh session id for a sign-in (never one the browser brought: no session fixation)."""
    old = request.session.get("sid")
    if isinstance(old, str):
        svc.store.end_session(old, svc.clock.now())
    request.session.clear()
    sid = secrets.token_urlsafe(32)
    svc.store.start_session(email, sid, via, svc.clock.now(), timedelta(hours=svc.settings.session_hours))
    request.session["sid"] = sid
    log.info("signed in: %s (%s)", email, via)


def _form_csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(16)
        request.session["csrf"] = token
    return token


def _csrf_ok(request: Request, value: Any) -> bool:
    token = request.session.get("csrf")
    return isinstance(token, str) and isinstance(value, str) and secrets.compare_digest(token, value)


_PROBLEM = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_HTML = {"text/html": {"schema": {"type": "string"}}}
_REFUSED = {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}},
                                            "required": ["error"]}}}
# the answers of every route that needs a credential (`require`)
AUTH_RESPONSES = {401: {"description": "未登录或 API 密钥无效 / no valid credential (nothing stored)", "content": _REFUSED},
                  403: {"description": "无权 / the credential may not (nothing stored)", "content": _REFUSED}}
PAGE = {200: {"description": "登录页 / the sign-in page", "content": _HTML},
        422: {"description": "输入无效 / invalid input (a NUL character)", "content": _PROBLEM}}
SIGNED_IN = {**PAGE, 303: {"description": "已登录：转到 next / signed in: to `next`"},
             401: {"description": "登录失败 / not signed in (the page again, with the reason)", "content": _HTML},
             403: {"description": "表单失效或不在组织架构中 / form expired, or not in the org directory",
                   "content": _HTML},
             502: {"description": "企业身份提供方无法连接 / the IdP cannot be reached", "content": _HTML}}


def _form(required: list[str], body_required: bool = True, **fields: dict) -> dict:
    return {"requestBody": {"required": body_required, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": required, "properties": fields}}}}}


LOGIN_FORM = _form(["csrf", "email", "password"], csrf={"type": "string"}, email={"type": "string"},
                   password={"type": "string", "format": "password"}, next={"type": "string"})
LOGOUT_FORM = _form([], False, csrf={"type": "string"})  # without the session's CSRF value: nothing happens


def auth_router(svc: Services, oidc_client_kwargs: dict[str, Any] | None = None) -> APIRouter:
    """/login, /logout, /api/me and, with KEFU_OIDC_METADATA_URL, /auth/oidc/login and /callback.
    `oidc_client_kwargs` reach Authlib's httpx client (a test's in-process IdP transport)."""
    settings = svc.settings
    router = APIRouter(tags=["sign-in"])
    oidc = _oidc_client(settings, oidc_client_kwargs) if settings.oidc_enabled else None

    def page(request: Request, status: int = 200, **ctx: Any) -> HTMLResponse:
        caller = None
        try:
            caller = identify(request)
        except AuthError:
            pass
        base = {"errors": [], "email": "", "next": "/", "password_login": True,
                "oidc_label": settings.oidc_label if oidc else "", "csrf": _form_csrf(request),
                "signed_in": caller.staff if caller and caller.staff else ""}
        return HTMLResponse(render("pages/login.html.j2", **(base | ctx)), status_code=status)

    @router.get("/login", response_class=HTMLResponse, summary="员工登录页 / the staff sign-in page", responses=PAGE)
    def login_page(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
        return page(request, next=_safe_next(next))

    @router.post("/login", response_class=HTMLResponse, summary="员工登录 / sign in with email and password",
                 responses=SIGNED_IN, openapi_extra=LOGIN_FORM)
    async def login(request: Request) -> Response:
        form = await request.form()
        email, password = str(form.get("email") or "").strip(), str(form.get("password") or "")
        nxt = _safe_next(str(form.get("next") or "/"))
        if not _csrf_ok(request, form.get("csrf")):
            return page(request, 403, next=nxt, email=email,
                        errors=["表单已失效，请重新登录 / the form expired; please sign in again"])
        person = svc.org.find(email) if "@" in email else None
        reason = _password_sign_in(svc, person.email if person else email, password)
        if reason or person is None:
            log.warning("sign-in refused for %r: %s", email[:200], reason or "not in the org directory")
            return page(request, 401, next=nxt, email=email,
                        errors=[reason or "邮箱或密码错误 / wrong email or password"])
        _new_session(request, svc, person.email, "password")
        return RedirectResponse(nxt, status_code=303)

    @router.post("/logout", summary="退出登录 / sign out (the session ends on the server)", openapi_extra=LOGOUT_FORM,
                 responses={303: {"description": "已退出：转到 /login / signed out: to /login"}, 422: PAGE[422]})
    async def logout(request: Request) -> Response:
        form = await request.form()
        sid = request.session.get("sid")
        if isinstance(sid, str) and _csrf_ok(request, form.get("csrf")):
            svc.store.end_session(sid, svc.clock.now())
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @router.get("/api/me", summary="当前身份 / who the caller is", responses={
        200: {"content": {"application/json": {"schema": {"type": "object"}}}},
        401: {"description": "未登录 / no credential", "content": _REFUSED}, 422: PAGE[422]})
    def me(request: Request) -> JSONResponse:
        caller = identify(request)
        if caller is None:
            raise AuthError(401, "未登录", "not signed in")
        if caller.kind == "api_key":
            return JSONResponse({"kind": "api_key", "name": caller.name, "scopes": sorted(caller.scopes),
                                 "person": caller.person})
        person = svc.org.person(caller.name)
        return JSONResponse({"kind": "staff", "email": person.email, "name": person.name,
                             "roles": svc.org.roles_of(person.email)})

    if oidc is not None:
        @router.get("/auth/oidc/login", summary="企业账号登录 / sign in through the company's IdP (OIDC)",
                    responses={302: {"description": "转到企业身份提供方 / to the IdP"}, 422: PAGE[422]})
        async def oidc_login(request: Request, next: str | None = None) -> Response:  # noqa: A002
            request.session["next"] = _safe_next(next)
            return await oidc.authorize_redirect(request, f"{settings.base_url}/auth/oidc/callback")

        @router.get("/auth/oidc/callback", summary="IdP 回调 / the IdP's answer (OIDC authorization code)",
                    responses=SIGNED_IN)
        async def oidc_callback(request: Request) -> Response:
            from authlib.integrations.starlette_client import OAuthError  # lazy: OIDC only (≈ 500 ms)
            from joserfc.errors import JoseError  # lazy: with authlib, as above

            try:
                token = await oidc.authorize_access_token(request)
            except (OAuthError, JoseError) as exc:  # a forged state or code, an ID token not for us or unsigned
                return page(request, 401, errors=[f"企业账号登录失败 / single sign-on failed: {exc.error}"])
            except httpx.HTTPError as exc:
                return page(request, 502, errors=[f"企业身份提供方无法连接 / the company IdP cannot be reached: "
                                                  f"{type(exc).__name__}"])
            claims = token.get("userinfo") or {}
            email = str(claims.get(settings.oidc_email_claim) or "")
            person = svc.org.find(email) if "@" in email else None
            if person is None or claims.get("email_verified") is False:
                log.warning("single sign-on refused for %r (not in the org directory or not verified)", email[:200])
                return page(request, 403, errors=[f"{email or '?'} 不在组织架构中，无权登录 / "
                                                  f"{email or '?'} is not in the org directory"])
            nxt = _safe_next(request.session.get("next"))
            _new_session(request, svc, person.email, "oidc")
            return RedirectResponse(nxt, status_code=303)

    return router


def _password_sign_in(svc: Services, email: str, password: str) -> str | None:
    s = svc.settings
    return sign_in(svc.store, email, password, svc.clock.now(), max_failures=s.sign_in_max_failures,
                   lock_for=timedelta(minutes=s.sign_in_lock_minutes))


def _oidc_client(settings: Settings, client_kwargs: dict[str, Any] | None) -> StarletteOAuth2App:
    from authlib.integrations.starlette_client import OAuth  # lazy: OIDC only (≈ 500 ms)

    oauth = OAuth()
    oauth.register(name="idp", server_metadata_url=settings.oidc_metadata_url, client_id=settings.oidc_client_id,
                   client_secret=settings.oidc_client_secret.get_secret_value(),
                   client_kwargs={"scope": settings.oidc_scope, **(client_kwargs or {})})
    return oauth.create_client("idp")

