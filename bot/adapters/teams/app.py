"""The Teams front door: botbuilder's `CloudAdapter` behind `POST /api/messages`.

The Bot Framework POSTs every activity to one URL with a bearer token that botbuilder
validates (`ConfigurationBotFrameworkAuthentication`, built from the MICROSOFT_APP_*
settings): a request without a valid token is a 401 and reaches no handler. With no
MICROSOFT_APP_ID, botbuilder skips authentication both ways (incoming tokens are not
checked, outgoing calls carry none); that is for local testing with the Bot Framework
Emulator or a fake connector only, and start-up says so in the log.

We read the request ourselves instead of calling `CloudAdapter.process`, because that
method answers a missing Content-Type or a body that is not JSON with a 500. Here: not
`application/json` is a 415, a body that is not a JSON object or not an activity we can
route is a 400 (nothing processed), a handler failure is a 500 (Teams redelivers, and the
engine ignores the activity id it already stored). An invoke gets the handler's invoke
response; anything else a 200 once its replies are in the outbox.

Authentication runs before, and apart from, the handler, because botbuilder reports a
bad token in several ways: `PermissionError` (no token, wrong issuer, audience or service
URL), PyJWT's errors (bad signature, expired), a bare `Exception` (key not endorsed for
the channel, algorithm not allowed) and `IndexError` (a key id its OpenID metadata does
not list). Every one of those is a 401 and reaches no handler; only failing to fetch the
OpenID metadata itself (`requests` errors are `OSError`s) is a 503, since the token may be
fine and Teams should redeliver. (botbuilder fetches that metadata with blocking
`requests` on the event loop, at most about once a day per process.)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import serializer_helper
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, ActivityTypes

from bot.adapters.base import Core, ReferenceBook
from bot.adapters.teams.adapter import ReferenceStore, TeamsAdapter
from bot.adapters.teams.bot import TeamsBot
from bot.config import Settings
from bot.errors import ConfigError

logger = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant"}
APP_TYPES["userassignedmsi"] = "UserAssignedMSI"
# Activities we route need these to be answered; others only need a type.
_ROUTED = {
    ActivityTypes.message,
    ActivityTypes.invoke,
    ActivityTypes.conversation_update,
    ActivityTypes.installation_update,
}


class BotFrameworkConfig:
    """The attributes `ConfigurationBotFrameworkAuthentication` reads, from our settings.

    Args:
        settings: the bot's settings.

    Raises:
        ConfigError: the MICROSOFT_APP_* settings are inconsistent (naming the variable).
    """

    def __init__(self, settings: Settings) -> None:
        app_type = APP_TYPES.get(settings.microsoft_app_type.strip().lower())
        if app_type is None:
            raise ConfigError(
                "MICROSOFT_APP_TYPE must be MultiTenant, SingleTenant or UserAssignedMSI"
                f" (got {settings.microsoft_app_type!r})"
            )
        app_id = settings.microsoft_app_id or None
        password = settings.microsoft_app_password or None
        tenant = settings.microsoft_app_tenant_id or None
        if app_id and app_type != "UserAssignedMSI" and not password:
            raise ConfigError(f"MICROSOFT_APP_PASSWORD is required for a {app_type} app")
        if app_type != "MultiTenant" and not (app_id and tenant):
            raise ConfigError(
                f"MICROSOFT_APP_ID and MICROSOFT_APP_TENANT_ID are required for {app_type}"
            )
        self.APP_ID = app_id
        self.APP_PASSWORD = password
        self.APP_TENANTID = tenant
        self.APP_TYPE = app_type


def malformed(body: Any) -> str | None:
    """Why a parsed request body is not an activity we can handle, or None if it is.

    Args:
        body: the parsed JSON.

    Returns:
        A short reason for the 400 response, or None.
    """
    if not isinstance(body, dict):
        return "the body must be a JSON object (an activity)"
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        return "the activity has no 'type'"
    if kind not in _ROUTED:
        return None
    service_url = body.get("serviceUrl")
    if not isinstance(service_url, str) or not service_url.startswith(("https://", "http://")):
        return "the activity has no valid 'serviceUrl'"
    for key in ("conversation", "from", "recipient"):
        part = body.get(key)
        if not isinstance(part, dict) or not isinstance(part.get("id"), str) or not part["id"]:
            return f"the activity has no '{key}.id'"
    for key in ("text", "name", "action", "id", "replyToId"):
        if body.get(key) is not None and not isinstance(body[key], str):
            return f"'{key}' must be a string"
    return None


def _unauthorized(exc: Exception) -> web.Response:
    logger.warning(
        "teams: rejected an activity without a valid token: %s: %s", type(exc).__name__, exc
    )
    return web.json_response({"error": "unauthorized"}, status=401)


def make_handler(
    cloud: CloudAdapter, bot: TeamsBot
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for `POST /api/messages`."""

    async def messages(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.json_response({"error": "the body is not valid JSON"}, status=400)
        problem = malformed(body)
        if problem is None:
            try:
                activity = Activity().deserialize(body)
            except Exception:
                problem = "the activity could not be read"
        if problem is not None:
            logger.info("teams: rejected a malformed activity: %s", problem)
            return web.json_response({"error": problem}, status=400)
        auth_header = request.headers.get("Authorization", "")
        authentication = cloud.bot_framework_authentication
        try:
            authenticated = await authentication.authenticate_request(activity, auth_header)
        except PermissionError as exc:  # an OSError too, so before the next clause
            return _unauthorized(exc)
        except OSError:  # requests' errors: the OpenID metadata could not be fetched
            logger.exception("teams: could not fetch the Bot Framework's signing keys")
            return web.json_response({"error": "cannot validate tokens now"}, status=503)
        except Exception as exc:  # botbuilder's other ways of saying "bad token"
            return _unauthorized(exc)
        try:
            invoke = await cloud.process_activity(authenticated, activity, bot.on_turn)
        except Exception:
            logger.exception("teams: handling a %s activity failed", activity.type)
            return web.json_response({"error": "internal error"}, status=500)
        if invoke is None:
            return web.Response(status=200)
        body = invoke.body
        if body is not None and not isinstance(body, dict | list | str | int | float | bool):
            body = serializer_helper(body)  # a botbuilder model (ExpectedReplies)
        return web.json_response(body, status=int(invoke.status))

    return messages


def mount_teams(
    app: web.Application, core: Core, settings: Settings, book: ReferenceBook
) -> TeamsAdapter:
    """Serve Teams on `POST /api/messages` and register the adapter for delivery.

    Call it after `build_app` and before the application starts (the outbox worker takes
    its adapters at start-up). Set `https://<PUBLIC_URL>/api/messages` as the messaging
    endpoint of the Azure Bot resource.

    Args:
        app: the aiohttp application (`bot.app.build_app`).
        core: the rest of the bot, as adapters see it.
        settings: the bot's settings (the MICROSOFT_APP_* ones are read).
        book: where conversation references are stored.

    Returns:
        The Teams adapter (for the outbox); the caller registers it.

    Raises:
        ConfigError: the MICROSOFT_APP_* settings are inconsistent.
    """
    config = BotFrameworkConfig(settings)
    cloud = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    references = ReferenceStore(book)
    adapter = TeamsAdapter(cloud=cloud, app_id=config.APP_ID, references=references, files=core)
    bot = TeamsBot(core, references, adapter)
    app.router.add_post(MESSAGES_PATH, make_handler(cloud, bot))

    async def finish_uploads(_: web.Application) -> None:
        await bot.drain()

    app.on_shutdown.append(finish_uploads)
    if config.APP_ID is None:
        logger.warning(
            "teams: MICROSOFT_APP_ID is not set: %s accepts UNAUTHENTICATED requests"
            " (local testing only; set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD)",
            MESSAGES_PATH,
        )
    else:
        logger.info(
            "teams: serving %s for app %s (%s)", MESSAGES_PATH, config.APP_ID, config.APP_TYPE
        )
    return adapter


__all__ = ["MESSAGES_PATH", "BotFrameworkConfig", "make_handler", "malformed", "mount_teams"]
