"""HTTP routes of the local web console: the page, its static files and a small JSON API.

The API is what the browser page uses, and what tests drive directly: who can I be
(`people`), what is new in a conversation (`feed`, polled about once a second, because
polling needs no websocket plumbing and a local console has a handful of users), and
four ways to talk to the engine (`message`, `action`, `answer`, `form`), which map one to
one onto the engine's inbound events. Every button and form names the round (and, for an
answer or a skip, the question) it was shown with, so a stale or repeated click acts on
what the person saw, or on nothing.

Every bad request gets a specific JSON error, because the person at the keyboard (or the
engineer writing a test) should learn what to fix; an engine failure gets a generic
apology and a logged traceback, because exception text can carry internals.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot import messages
from bot.adapters.console.adapter import CIO_CHANNEL, PREFIX, ConsoleAdapter, Entry, Person
from bot.flows.events import (
    MAX_ROUND_ID,
    Action,
    ActionPressed,
    AnswerGiven,
    CommandInvoked,
    FormSubmitted,
    InboundEvent,
    TextMessage,
    check_round_id,
)
from bot.presentation.vocabulary import present_action

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = 1024 * 1024
MAX_TEXT_CHARS = 40_000
MAX_EVENT_ID_CHARS = 200
MAX_ADDRESS_CHARS = 200
MAX_FORM_FIELDS = 200
#: The apology for an engine failure, as read at import (tests compare with it); each reply
#: reads it again, in the language spoken then.
ENGINE_FAILED: str = messages.CONSOLE_ENGINE_FAILED
COMMAND_PREFIX = "/strategy "
_TOKEN = re.compile(r"[0-9a-f]{32}")

# The only files the page needs; anything else under /console/static is a 404, so no
# path a client sends ever reaches the file system.
_STATIC_FILES: dict[str, str] = {
    "app.js": "text/javascript",
    "charts.js": "text/javascript",
    "style.css": "text/css",
}
# The page carries no inline script or style, so the browser may refuse all of them:
# even if some stakeholder text slipped past the renderer, it could not run.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

ADAPTER_KEY: web.AppKey[ConsoleAdapter] = web.AppKey("console_adapter", ConsoleAdapter)


FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#1f3a5f"/>'
    '<path d="M8 22l5-6 4 3 7-9" stroke="#fff" stroke-width="3" fill="none"/></svg>'
)


class BadRequest(Exception):
    """A request the console cannot act on; the message is shown to the client as is."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def register_console_routes(app: web.Application, adapter: ConsoleAdapter) -> None:
    """Mount the console page and API on an aiohttp application.

    Args:
        app: the application (the same process also serves Slack/Teams webhooks).
        adapter: the console adapter whose transcript and engine the routes use.
    """
    app[ADAPTER_KEY] = adapter
    routes = _ConsoleRoutes(adapter)
    app.router.add_get("/", routes.index)
    app.router.add_get("/console/static/{name}", routes.static)
    app.router.add_get("/favicon.ico", routes.favicon)
    app.router.add_get("/console/api/people", routes.people)
    app.router.add_get("/console/api/feed", routes.feed)
    app.router.add_get("/console/api/latest", routes.latest)
    app.router.add_get("/console/api/file", routes.file)
    app.router.add_post("/console/api/message", routes.message)
    app.router.add_post("/console/api/action", routes.action)
    app.router.add_post("/console/api/answer", routes.answer)
    app.router.add_post("/console/api/form", routes.form)


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=_SECURITY_HEADERS)


def _ok(payload: dict[str, Any]) -> web.Response:
    return web.json_response(payload, headers=_SECURITY_HEADERS)


class _ConsoleRoutes:
    """Request handlers, bound to one adapter."""

    def __init__(self, adapter: ConsoleAdapter) -> None:
        self.adapter = adapter
        # Read once at start-up: three small files, and no file I/O on the event loop.
        self._index = (STATIC_DIR / "index.html").read_bytes()
        self._files = {name: (STATIC_DIR / name).read_bytes() for name in _STATIC_FILES}

    # -- Page and static files --------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        """The console page."""
        return web.Response(
            body=self._index,
            content_type="text/html",
            charset="utf-8",
            headers=_SECURITY_HEADERS,
        )

    async def favicon(self, request: web.Request) -> web.StreamResponse:
        """A small SVG icon, so browsers don't log a 404 on every page load."""
        return web.Response(
            text=FAVICON_SVG,
            content_type="image/svg+xml",
            headers={"Cache-Control": "max-age=86400"},
        )

    async def static(self, request: web.Request) -> web.StreamResponse:
        """One of the page's own files, by exact name (no paths, no directory listing)."""
        name = request.match_info["name"]
        content_type = _STATIC_FILES.get(name)
        if content_type is None:
            return _error(messages.console_no_file(repr(name[:80])), status=404)
        return web.Response(
            body=self._files[name],
            content_type=content_type,
            charset="utf-8",
            headers=_SECURITY_HEADERS,
        )

    # -- Reads ------------------------------------------------------------------------

    async def people(self, request: web.Request) -> web.StreamResponse:
        """Who the browser can act as, and the conversations in the sidebar."""
        return _ok(
            {
                "people": [p.as_json() for p in self.adapter.people],
                "channels": [{"address": CIO_CHANNEL, "name": "#cio"}],
            }
        )

    async def feed(self, request: web.Request) -> web.StreamResponse:
        """Entries of one conversation after a given id (``?address=console:x&after=N``)."""
        address = request.query.get("address", "")
        if not address:
            return _error(messages.CONSOLE_MISSING_ADDRESS)
        if not address.startswith(PREFIX) or len(address) > MAX_ADDRESS_CHARS:
            return _error(messages.console_bad_address(repr(address[:80])))
        raw_after = request.query.get("after", "0")
        try:
            after = int(raw_after)
        except ValueError:
            return _error(messages.console_bad_after(repr(raw_after[:40])))
        entries = self.adapter.feed(address, after)
        return _ok({"entries": entries, "last_id": self.adapter.last_id})

    async def latest(self, request: web.Request) -> web.StreamResponse:
        """The newest entry id per conversation, for unread marks in the sidebar."""
        return _ok({"latest": self.adapter.latest()})

    async def file(self, request: web.Request) -> web.StreamResponse:
        """An export's file (``?as=console:x&token=…``), built now, for its requester only.

        The token names the file (`FileReply.token`, in the entry the person was shown);
        the person must be the one it was sent to, and the file is handed out for a day
        (`bot.flows.export_chat.FILE_VALID_FOR`). It streams from a spooled temporary
        file, as an attachment of its own media type, and each download is audited.
        """
        files = self.adapter.files
        who = request.query.get("as", "")
        token = request.query.get("token", "")
        person = self.adapter.person(who)
        if person is None:
            return _error(messages.console_unknown_person(repr(who[:80])))
        if files is None or not _TOKEN.fullmatch(token):
            return _error(messages.EXPORT_NO_SUCH_FILE, status=404)
        reply = await files.offered_file(person.address, token)
        if reply is None:
            return _error(messages.EXPORT_NO_SUCH_FILE, status=404)
        if files.now() >= reply.expires_at:
            return _error(messages.EXPORT_LINK_EXPIRED, status=410)
        try:
            built = await files.build_file(reply)
        except Exception:
            logger.exception("console: building the export %s failed", reply.filename)
            return _error(messages.CONSOLE_ENGINE_FAILED, status=500)
        try:
            response = web.StreamResponse(
                headers={
                    **_SECURITY_HEADERS,
                    "Content-Type": reply.media_type,
                    "Content-Disposition": _attachment(reply.filename),
                    "Content-Length": str(built.size),
                }
            )
            await response.prepare(request)
            for chunk in built.chunks():
                await response.write(chunk)
            await response.write_eof()
        finally:
            built.close()
        await files.file_handed_out(reply, built, "console download")
        return response

    # -- Writes -----------------------------------------------------------------------

    async def message(self, request: web.Request) -> web.StreamResponse:
        """Text typed in the message box: an answer, a chat message or a command."""
        try:
            body = await _read_json(request)
            person = self._person(body)
            event_id = _event_id(body)
            where = self._where(body, person)
            text = body.get("text")
            if not isinstance(text, str):
                raise BadRequest(messages.CONSOLE_MISSING_TEXT)
            if not text.strip():
                raise BadRequest(messages.CONSOLE_EMPTY_TEXT)
            if len(text) > MAX_TEXT_CHARS:
                raise BadRequest(messages.console_text_too_long(len(text), MAX_TEXT_CHARS))
            command = body.get("command", False)
            if not isinstance(command, bool):
                raise BadRequest(messages.CONSOLE_COMMAND_FLAG)
        except BadRequest as exc:
            return _error(exc.message, exc.status)
        is_command = command or text.lstrip().startswith(COMMAND_PREFIX)
        event: InboundEvent
        if is_command:
            words = text.strip()
            words = (
                words[len(COMMAND_PREFIX) :].strip() if words.startswith(COMMAND_PREFIX) else words
            )
            event = CommandInvoked(
                actor=person.address,
                actor_name=person.name,
                event_id=event_id,
                text=words,
                place=None if where == person.address else where,
            )
        else:
            event = TextMessage(
                actor=person.address,
                actor_name=person.name,
                event_id=event_id,
                text=text,
                place=None if where == person.address else where,
            )
        shown = text if not is_command or text.lstrip().startswith("/") else f"/strategy {text}"
        return await self._dispatch(
            event, where=where, shown=shown, kind="command" if is_command else "text"
        )

    async def action(self, request: web.Request) -> web.StreamResponse:
        """A button on a prompt or summary."""
        try:
            body = await _read_json(request)
            person = self._person(body)
            event_id = _event_id(body)
            where = self._where(body, person)
            raw_action = body.get("action")
            if not isinstance(raw_action, str) or not raw_action:
                raise BadRequest(messages.CONSOLE_MISSING_ACTION)
            try:
                action = Action(raw_action)
            except ValueError:
                known = [a.value for a in Action]
                raise BadRequest(
                    messages.console_unknown_action(repr(raw_action[:40]), known)
                ) from None
            round_id = _round_id(body)
            value = _optional_text(body, "value")
            question_id = _optional_text(body, "question_id")
        except BadRequest as exc:
            return _error(exc.message, exc.status)
        event = ActionPressed(
            actor=person.address,
            actor_name=person.name,
            event_id=event_id,
            action=action,
            round_id=round_id,
            value=value,
            question_id=question_id,
            place=None if where == person.address else where,
        )
        shown = present_action(action).name + (f" ({value})" if value else "")
        return await self._dispatch(event, where=where, shown=shown, kind="action")

    async def answer(self, request: web.Request) -> web.StreamResponse:
        """An answer button of a prompt (a rating, a choice, yes/no): answers its question."""
        try:
            body = await _read_json(request)
            person = self._person(body)
            event_id = _event_id(body)
            where = self._where(body, person)
            round_id = _round_id(body)
            question_id = _optional_text(body, "question_id")
            if not question_id:
                raise BadRequest(messages.CONSOLE_MISSING_QUESTION)
            value = _optional_text(body, "value")
            if value is None:
                raise BadRequest(messages.CONSOLE_MISSING_VALUE)
        except BadRequest as exc:
            return _error(exc.message, exc.status)
        event = AnswerGiven(
            actor=person.address,
            actor_name=person.name,
            event_id=event_id,
            round_id=round_id,
            question_id=question_id,
            value=value,
            place=None if where == person.address else where,
        )
        return await self._dispatch(event, where=where, shown=value, kind="answer")

    async def form(self, request: web.Request) -> web.StreamResponse:
        """A whole form submitted at once."""
        try:
            body = await _read_json(request)
            person = self._person(body)
            event_id = _event_id(body)
            where = self._where(body, person)
            round_id = _round_id(body)
            values = _form_values(body.get("values"))
        except BadRequest as exc:
            return _error(exc.message, exc.status)
        event = FormSubmitted(
            actor=person.address,
            actor_name=person.name,
            event_id=event_id,
            round_id=round_id,
            values=values,
            place=None if where == person.address else where,
        )
        count = sum(1 for v in values.values() if v not in (None, "", []))
        shown = messages.console_form_submitted(count)
        return await self._dispatch(event, where=where, shown=shown, kind="form")

    # -- Shared steps -----------------------------------------------------------------

    def _person(self, body: dict[str, Any]) -> Person:
        who = body.get("as")
        if who is None or who == "":
            raise BadRequest(messages.CONSOLE_MISSING_PERSON)
        if not isinstance(who, str):
            raise BadRequest(messages.CONSOLE_PERSON_NOT_TEXT)
        person = self.adapter.person(who)
        if person is None:
            raise BadRequest(messages.console_unknown_person(repr(who[:80])))
        return person

    def _where(self, body: dict[str, Any], person: Person) -> str:
        """Which transcript shows what the person typed: their DM unless told otherwise."""
        where = body.get("in")
        if where is None:
            return person.address
        if where == CIO_CHANNEL or where == person.address:
            return where
        raise BadRequest(
            messages.console_bad_place(person.address, CIO_CHANNEL, repr(str(where)[:80]))
        )

    async def _dispatch(
        self, event: InboundEvent, *, where: str, shown: str, kind: str
    ) -> web.StreamResponse:
        """Show what the person did, run the engine, show its replies."""
        if event.event_id is not None:
            earlier = self.adapter.answered(event.event_id)
            if earlier is not None:
                logger.debug("console: event %s already handled; replaying", event.event_id)
                return _ok({"entries": earlier, "replayed": True})
        entries: list[Entry] = [
            self.adapter.append_user(where, actor=event.actor, text=shown, kind=kind)
        ]
        try:
            replies = await self.adapter.handle(event)
        except Exception:
            logger.exception(
                "console: engine failed on %s from %s", type(event).__name__, event.actor
            )
            return _error(messages.CONSOLE_ENGINE_FAILED, status=500)
        for outgoing in replies:
            if not outgoing.address.startswith(PREFIX):
                logger.warning(
                    "console: engine replied to non-console address %s; not shown",
                    outgoing.address,
                )
                continue
            # Where each reply goes is the engine's decision (a notice answers in the
            # channel it was typed in, a prompt goes to the person's own DM).
            entries.append(
                self.adapter.append_bot(outgoing.address, outgoing.message, outgoing.key)
            )
        if event.event_id is not None:
            self.adapter.remember_answer(event.event_id, entries)
        return _ok({"entries": entries})


def _attachment(filename: str) -> str:
    """A Content-Disposition that saves the file under its name (RFC 6266, ASCII and UTF-8)."""
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, read with a size limit that does not trust headers."""
    if request.content_type != "application/json":
        raise BadRequest(
            messages.console_not_json(repr(request.content_type)),
            status=415,
        )
    too_big = BadRequest(messages.console_too_large(MAX_BODY_BYTES // 1024), status=413)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_big
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    while len(raw) <= MAX_BODY_BYTES and not request.content.at_eof():
        chunk = await request.content.read(MAX_BODY_BYTES + 1 - len(raw))
        if not chunk:
            break
        raw += chunk
    if len(raw) > MAX_BODY_BYTES:
        raise too_big
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(messages.CONSOLE_BAD_JSON) from None
    if not isinstance(body, dict):
        raise BadRequest(messages.CONSOLE_NOT_AN_OBJECT)
    return body


def _event_id(body: dict[str, Any]) -> str | None:
    """The client's id for this request (a UUID), which makes a retry a no-op."""
    value = body.get("id")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_EVENT_ID_CHARS:
        raise BadRequest(messages.console_bad_event_id(MAX_EVENT_ID_CHARS))
    return value


def _optional_text(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise BadRequest(messages.console_field_not_text(field))
    if value is not None and len(value) > MAX_TEXT_CHARS:
        raise BadRequest(messages.console_field_too_long(field, MAX_TEXT_CHARS))
    return value


def _round_id(body: dict[str, Any]) -> int:
    value = body.get("round_id")
    if value is None:
        raise BadRequest(messages.CONSOLE_MISSING_ROUND)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(messages.console_round_not_a_number(json.dumps(value)[:40]))
    try:
        return check_round_id(value)
    except ValueError:
        raise BadRequest(messages.round_id_out_of_range(value, MAX_ROUND_ID)) from None


def _form_values(raw: object) -> dict[str, object]:
    """Check a form's values: question id to text, list of texts, number, yes/no or empty."""
    if not isinstance(raw, dict):
        raise BadRequest(messages.CONSOLE_VALUES_NOT_AN_OBJECT)
    if len(raw) > MAX_FORM_FIELDS:
        raise BadRequest(messages.console_too_many_fields(MAX_FORM_FIELDS))
    values: dict[str, object] = {}
    for key, value in raw.items():
        if not key:
            raise BadRequest(messages.CONSOLE_EMPTY_FIELD_ID)
        ok = (
            value is None
            or isinstance(value, (str, bool, int))
            or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        )
        if not ok:
            raise BadRequest(messages.console_bad_answer(repr(key[:80])))
        if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
            raise BadRequest(messages.console_answer_too_long(repr(key[:80]), MAX_TEXT_CHARS))
        values[key] = value
    return values
