"""A fake OpenID Connect provider, in-process (an ASGI app reached through httpx's ASGI transport), for
the staff single sign-on tests: discovery document, JWKS, authorization codes and an RS256-signed ID
token as a real IdP (企业微信 / 钉钉 / AD FS) issues them. The person "logging in" at the IdP is chosen by
the test (`FakeIdP.approve`), as the IdP's own login page would."""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlparse

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ISSUER = "https://idp.example"
CLIENT_ID, CLIENT_SECRET = "kefu-web", "idp-client-secret-0123456789"


class FakeIdP:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/token", self.token, methods=["POST"]),
        ])

    @property
    def metadata_url(self) -> str:
        return f"{ISSUER}/.well-known/openid-configuration"

    def client_kwargs(self) -> dict:
        """For create_app(oidc_client_kwargs=…): Authlib's httpx client talks to this app in-process."""
        return {"transport": httpx.ASGITransport(app=self.app)}

    async def discovery(self, _request: Request) -> JSONResponse:
        return JSONResponse({
            "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize", "token_endpoint": f"{ISSUER}/token",
            "jwks_uri": f"{ISSUER}/jwks", "response_types_supported": ["code"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]})

    async def jwks(self, _request: Request) -> JSONResponse:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    def approve(self, authorize_url: str, email: str, **claims: object) -> str:
        """The person signs in at the IdP: the redirect back to the app (code and state), as the IdP sends it."""
        q = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
        assert q["client_id"] == CLIENT_ID and q["response_type"] == "code", q
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"email": email, "nonce": q.get("nonce"), "redirect_uri": q["redirect_uri"], **claims}
        return f"{q['redirect_uri']}?code={code}&state={q['state']}"

    async def token(self, request: Request) -> JSONResponse:
        form = dict(await request.form())
        self.token_requests.append(form)
        grant = self.codes.pop(str(form.get("code")), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": grant["email"], "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], "email_verified": True,
                  **{k: v for k, v in grant.items() if k not in ("nonce", "redirect_uri")}}
        if claims.pop("wrong_audience", False):
            claims["aud"] = "someone-else"
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                             "id_token": id_token, "scope": "openid email profile"})
