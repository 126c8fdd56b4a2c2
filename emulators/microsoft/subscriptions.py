"""``/subscriptions``: create (with the validation handshake), list, get, renew, delete and
``reauthorize``.

Creating (and giving a new ``notificationUrl``) POSTs ``notificationUrl?validationToken=…`` and
expects 200 with the token as ``text/plain`` within ``validation_timeout`` (10 s), for the
``lifecycleNotificationUrl`` too; otherwise creation fails with Graph's ``ValidationError``.
Expiry beyond ``subscription_max_minutes`` (10,080) is refused, below 45 minutes it is raised
to 45.  Delivery itself is :mod:`emulators.microsoft.notify`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import aiohttp

from emulators.microsoft.errors import GraphError
from emulators.microsoft.graph import Ctx, GraphResponse, route
from emulators.microsoft.state import MsState, Subscription

__all__ = ["subscription_json", "validate_endpoint"]

_RESOURCE = re.compile(r"^/?(?:me|users/([^/]+))(?:/calendars/([^/]+)|/calendar)?/events$",
                       re.IGNORECASE)
_CHANGE_TYPES = {"created", "updated", "deleted"}


def _ts(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{when.microsecond:06d}0Z"


def subscription_json(ctx: Ctx, sub: Subscription) -> dict[str, Any]:
    """The subscription resource."""
    return {
        "@odata.context": f"{ctx.request.base_url}/$metadata#subscriptions/$entity",
        "id": sub.id, "resource": sub.resource, "applicationId": sub.client_id,
        "changeType": ",".join(sub.change_types), "clientState": sub.client_state,
        "notificationUrl": sub.notification_url, "notificationQueryOptions": None,
        "lifecycleNotificationUrl": sub.lifecycle_url, "expirationDateTime": _ts(sub.expiration),
        "creatorId": ctx.state.accounts[sub.account].oid, "includeResourceData": None,
        "latestSupportedTlsVersion": "v1_2", "encryptionCertificate": None,
        "encryptionCertificateId": None, "notificationUrlAppId": None,
    }


async def validate_endpoint(state: MsState, url: str) -> None:
    """The validation handshake against ``url``; raises Graph's ``ValidationError``."""
    token = "Validation: Testing client application reachability for subscription Request-Id: " \
        + str(uuid.uuid4())
    timeout = aiohttp.ClientTimeout(total=state.config.validation_timeout)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                url, params={"validationToken": token},
                headers={"Content-Type": "text/plain; charset=utf-8"}, data=b"") as resp:
            text = await resp.text()
            kind = resp.headers.get("Content-Type", "")
            good = resp.status == 200 and text == token and kind.startswith("text/plain")
    except TimeoutError as exc:
        raise GraphError(400, "ValidationError", "Subscription validation request timed "
                         "out.") from exc
    except aiohttp.ClientError as exc:
        raise GraphError(400, "ValidationError", "Subscription validation request failed. "
                         f"Notification endpoint must respond with 200 OK to validation request. "
                         f"({type(exc).__name__})") from exc
    if not good:
        raise GraphError(400, "ValidationError", "Subscription validation request failed. "
                         "Notification endpoint must respond with 200 OK to validation request.")


def _expiry(state: MsState, value: Any) -> dt.datetime:
    try:
        asked = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphError(400, "InvalidRequest", "expirationDateTime is invalid.") from exc
    asked = asked if asked.tzinfo else asked.replace(tzinfo=dt.UTC)
    now = state.clock.now()
    cfg = state.config
    if asked > now + dt.timedelta(minutes=cfg.subscription_max_minutes):
        raise GraphError(400, "ExtensionError", "Operation: Create; Exception: [Status Code: "
                         "BadRequest; Reason: Subscription expiration can only be "
                         f"{cfg.subscription_max_minutes} minutes in the future.]")
    return max(asked, now + dt.timedelta(minutes=cfg.subscription_min_minutes))


def _resource(ctx: Ctx, resource: str) -> str | None:
    found = _RESOURCE.match(resource.strip())
    if found is None:
        raise GraphError(400, "InvalidRequest", f"Resource '{resource}' is not supported.")
    user = found.group(1)
    account = ctx.state.accounts[ctx.account]
    if user is not None and user.lower() not in (account.upn.lower(), account.oid.lower()):
        raise GraphError(403, "ExtensionError", "Operation: Create; Exception: [Status Code: "
                         "Forbidden; Reason: Access is denied.]")
    cid = found.group(2)
    if cid is not None and ctx.state.access(ctx.account, cid) != "owner":
        raise GraphError(404, "ExtensionError", "Operation: Create; Exception: [Status Code: "
                         "NotFound; Reason: The calendar was not found.]")
    return cid


def _get(ctx: Ctx) -> Subscription:
    sub = ctx.state.subscriptions.get(ctx.match["sid"])
    if sub is None or sub.client_id != ctx.token.client_id:
        raise GraphError(404, "ResourceNotFound", "The object was not found.")
    return sub


@route("POST", "/subscriptions", "subscriptions.create")
async def create(ctx: Ctx) -> GraphResponse:
    """Create a subscription after the validation handshake."""
    body = ctx.json_body()
    kinds = [k.strip() for k in str(body.get("changeType") or "").split(",") if k.strip()]
    if not kinds or set(kinds) - _CHANGE_TYPES:
        raise GraphError(400, "InvalidRequest", "changeType must be created, updated and/or "
                         "deleted.")
    url = str(body.get("notificationUrl") or "")
    if not url.startswith(("https://", "http://")):
        raise GraphError(400, "InvalidRequest", "notificationUrl must be an absolute URL.")
    client_state = body.get("clientState")
    if client_state is not None and len(str(client_state)) > 128:
        raise GraphError(400, "InvalidRequest", "clientState must be at most 128 characters.")
    cid = _resource(ctx, str(body.get("resource") or ""))
    expiration = _expiry(ctx.state, body.get("expirationDateTime"))
    lifecycle = body.get("lifecycleNotificationUrl")
    await validate_endpoint(ctx.state, url)
    if lifecycle:
        await validate_endpoint(ctx.state, str(lifecycle))
    sub = Subscription(str(uuid.uuid4()), str(body["resource"]), kinds, url,
                       str(lifecycle) if lifecycle else None,
                       None if client_state is None else str(client_state), expiration,
                       ctx.account, ctx.token.client_id, cid)
    ctx.state.subscriptions[sub.id] = sub
    return GraphResponse(201, subscription_json(ctx, sub))


@route("GET", "/subscriptions", "subscriptions.list")
async def list_(ctx: Ctx) -> GraphResponse:
    """The caller's app's subscriptions."""
    subs = [subscription_json(ctx, s) for s in ctx.state.subscriptions.values()
            if s.client_id == ctx.token.client_id]
    for sub in subs:
        sub.pop("@odata.context")
    return GraphResponse(200, {"@odata.context": f"{ctx.request.base_url}/$metadata#"
                               "subscriptions", "value": subs})


@route("GET", "/subscriptions/{sid}", "subscriptions.get")
async def get(ctx: Ctx) -> GraphResponse:
    """One subscription."""
    return GraphResponse(200, subscription_json(ctx, _get(ctx)))


@route("PATCH", "/subscriptions/{sid}", "subscriptions.update")
async def update(ctx: Ctx) -> GraphResponse:
    """Renew (``expirationDateTime``) or move (``notificationUrl``, re-validated)."""
    sub = _get(ctx)
    body = ctx.json_body()
    if body.get("notificationUrl"):
        await validate_endpoint(ctx.state, str(body["notificationUrl"]))
        sub.notification_url = str(body["notificationUrl"])
    if body.get("expirationDateTime"):
        sub.expiration = _expiry(ctx.state, body["expirationDateTime"])
        sub.needs_reauth = False
    return GraphResponse(200, subscription_json(ctx, sub))


@route("DELETE", "/subscriptions/{sid}", "subscriptions.delete")
async def delete(ctx: Ctx) -> GraphResponse:
    """Delete a subscription."""
    sub = _get(ctx)
    del ctx.state.subscriptions[sub.id]
    return GraphResponse(204)


@route("POST", "/subscriptions/{sid}/reauthorize", "subscriptions.reauthorize")
async def reauthorize(ctx: Ctx) -> GraphResponse:
    """Answer a ``reauthorizationRequired`` lifecycle event."""
    _get(ctx).needs_reauth = False
    return GraphResponse(204)
