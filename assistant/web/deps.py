"""Request dependencies shared by the routers: the service, the caller and its rights."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assistant.errors import LotseError, ServiceCode
from assistant.service import Service
from ingest.types import VISIBILITIES

bearer = HTTPBearer(auto_error=False, description="API-Token für interne Dokumente bzw. Admin-Token.")


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _matches(credentials: HTTPAuthorizationCredentials | None, secrets: list[str]) -> bool:
    given = credentials.credentials.strip() if credentials else ""
    return bool(given) and any(hmac.compare_digest(given, s) for s in secrets if s)


@dataclass(frozen=True)
class Caller:
    """Who is asking: the client address (for limits and pseudonyms) and what it may see."""

    client: str
    visibility: tuple[str, ...]


def get_caller(request: Request, service: ServiceDep, credentials: Credentials) -> Caller:
    tokens = [t.get_secret_value() for t in service.settings.web.api_tokens]
    visibility = VISIBILITIES if _matches(credentials, tokens) else ("public",)
    return Caller(request.client.host if request.client else "unknown", visibility)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_admin(service: ServiceDep, credentials: Credentials) -> None:
    """Admin endpoints exist only with LOTSE_WEB__ADMIN_TOKEN set, and need that token."""
    admin = service.settings.web.admin_token
    if admin is None or not admin.get_secret_value():
        raise LotseError(ServiceCode.NOT_FOUND, "Nicht gefunden.", "Not found.")
    if not _matches(credentials, [admin.get_secret_value()]):
        raise LotseError(ServiceCode.UNAUTHORIZED, "Admin-Token fehlt oder ist falsch.", "Admin token missing or wrong.")
