"""/healthz (every part of the system) and the index page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from tasks.platform.health import Health, check_health, http_status
from webapp.deps import ServicesDep, SettingsDep

router = APIRouter()


@router.get("/healthz", tags=["ops"], summary="运行状况 / health of every part", responses={
    200: {"model": Health, "description": "ok 或 degraded（看门狗或邮件积压）/ ok or degraded"},
    503: {"model": Health, "description": "starting（流程尚未全部就绪）或 unavailable / not ready"}})
def healthz(request: Request, svc: ServicesDep) -> JSONResponse:
    health = check_health(svc, svc.clock.now(), request.app.state.started_at)
    return JSONResponse(health.model_dump(mode="json"), status_code=http_status(health))


@router.get("/", response_class=PlainTextResponse, include_in_schema=False)
def index(settings: SettingsDep) -> str:
    return ("客服流程 Kefu Flows\n" + ("/docs  API\n" if settings.serves_api_docs else "") + "/healthz\n"
            + "/login  员工登录 staff sign-in\n"
            + ("/dev/mail  开发邮箱 dev mailbox\n" if settings.serves_dev_mail else ""))
