"""GET /privacy: the privacy notice in plain Chinese, public (the bind receipt points here)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.console.web import render
from api.deps import SettingsDep
from core.privacy import NOTICE_VERSION

router = APIRouter(include_in_schema=False)


@router.get("/privacy")
def privacy_notice(request: Request, settings: SettingsDep):
    return render(
        request,
        "privacy_notice.html",
        title="个人信息保护说明",
        version=NOTICE_VERSION,
        days=settings.privacy.retain_days_after_end,
    )
