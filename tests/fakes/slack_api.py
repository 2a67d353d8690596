"""A fake Slack Web API on loopback, for tests that run the real Bolt app and adapter.

Like bolt-python's `tests/mock_web_api_server`, it answers the methods strategy-bot calls
with bodies shaped like Slack's, and records every request (method, parsed body, headers)
so tests can assert on what Slack would have received. Failures are scripted per method,
optionally only for requests whose body matches (`script("conversations.open",
body={"ok": False, "error": "user_not_found"}, match={"users": "U0SAM"})`); a scripted
response is used once unless `times` says otherwise.

The app reaches it through `SLACK_API_URL` (`fake.url`, ending in "/"); `response_url`s
point at `fake.respond_url(name)`.

Directory: `users` (user objects by id, as `users.info` returns them; `add_user` builds
one), `usergroups` (user group id -> member ids) and `channels` (channel id -> member ids)
answer `users.info`, `users.lookupByEmail`, `usergroups.users.list` and the cursor-paginated
`conversations.members` (`members_page_size` caps each page below the caller's `limit`, so
tests see several pages). Tests change them between rounds as people join and leave.
slack_sdk calls these read methods with GET, which the fake serves like POST.

OAuth: `oauth.v2.access` exchanges any code for a bot token of workspace `install_team`
(with a refresh token and `expires_in` when `rotation` is on) and refreshes tokens
(`grant_type=refresh_token`); the tokens it issued are accepted like `xoxb-test`. Rotating
tokens and refresh tokens are as long as Slack's (about 150 characters), so that one
encrypted at rest outgrows slack_sdk's VARCHAR(200) columns as it would in production.

Messages: `chat.postMessage` stores what it posts per channel (`posted`), with its
`metadata` and a `ts` that, like Slack's, is the posting time in microseconds and unique
(`clock`, Unix seconds, defaults to the real time; tests with a fake clock set it).
`conversations.history` answers from it the way Slack does: top-level messages only,
newest first, `oldest`/`latest` exclusive unless `inclusive`, `limit` (default 100, at
most 999) and cursor pagination (`has_more`, `response_metadata.next_cursor`), and a
message's `metadata` only with `include_all_metadata`. `conversations.replies` returns a
thread (parent first, then replies, oldest first), paginated likewise. `post_delay`
makes `chat.postMessage` answer that many seconds after the message is posted (a slow
Slack: several posts in flight at once); `script(..., posted=True)` posts the message and
then answers with the scripted error (a 5xx after Slack took it).

Files, the way `files_upload_v2` uploads one: `files.getUploadURLExternal` (`filename`,
`length`) answers `{"ok", "upload_url", "file_id"}` with an upload URL on this server
(Slack's is on files.slack.com); a POST of the bytes there answers 200 "OK - <length>"
and keeps them (`uploads`, by file id); `files.completeUploadExternal` (`files` as a JSON
list of `{"id", "title"}`, `channel_id`, `initial_comment`, `thread_ts`) answers
`{"ok", "files": [{"id", "title"}]}` and shares the file in the channel as Slack does: a
message with the `initial_comment` as its text and a `files` list (`id`, `name`, `title`,
`mimetype`, `size`, ...), which `conversations.history` then shows. Completing a file
id that was never uploaded is `file_not_found`; bytes of another length than announced
are refused too (`file_upload_size_mismatch` is the fake's own word: Slack finds it while
processing).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from tests.fakes.loopback import listen

_DIRECTORY_METHODS = frozenset(
    {"users.info", "users.lookupByEmail", "usergroups.users.list", "conversations.members"}
)


@dataclass
class Recorded:
    """One request the fake received."""

    method: str  # Web API method, or "respond" for a response_url
    body: dict[str, Any]
    headers: dict[str, str]
    path: str
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class _Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    match: dict[str, Any]
    times: int
    posted: bool = False  # chat.postMessage: post the message, then answer with the error


@dataclass
class FakeSlackApi:
    """The fake server; `start()` it, then point the app at `url`."""

    requests: list[Recorded] = field(default_factory=list)
    _scripts: dict[str, list[_Scripted]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _base: str = ""
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    tokens: set[str] = field(default_factory=lambda: {"xoxb-test"})  # accepted bot tokens
    refresh_tokens: set[str] = field(default_factory=set)  # refresh tokens it issued
    install_team: str = "T0ACME"  # the workspace an OAuth install is for
    rotation: bool = False  # issue expiring tokens with refresh tokens
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # users.info objects by id
    usergroups: dict[str, list[str]] = field(default_factory=dict)  # S... -> user ids
    channels: dict[str, list[str]] = field(default_factory=dict)  # C.../G... -> member ids
    members_page_size: int = 1000  # conversations.members: at most this many per page
    posted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> messages
    clock: Callable[[], float] = time.time  # Unix seconds, for the ts of posted messages
    post_delay: float = 0.0  # chat.postMessage answers this long after posting
    # Files: what getUploadURLExternal announced (file id -> name, length) and what was
    # POSTed to the upload URL (file id -> bytes).
    pending_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    _last_us: int = 0
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        """The Web API base URL (for SLACK_API_URL)."""
        return f"{self._base}/api/"

    def respond_url(self, name: str = "cmd") -> str:
        """A response_url for a slash command or an action."""
        return f"{self._base}/respond/{name}"

    async def start(self) -> str:
        """Listen on 127.0.0.1 (a free port); returns the base URL."""
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk reads with GET
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        self._runner, address = await listen(app)
        self._base = f"http://{address}"
        return self._base

    async def stop(self) -> None:
        """Stop listening (slow answers still pending are cut short)."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- scripting and reading --------------------------------------------------------

    def script(
        self,
        method: str,
        *,
        status: int = 200,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        match: dict[str, Any] | None = None,
        times: int = 1,
        posted: bool = False,
    ) -> None:
        """Answer the next `times` calls of `method` (matching `match`) with this response.

        Without `body`, a 429 answers `{"ok": false, "error": "ratelimited"}` and anything
        else `{"ok": false, "error": "fatal_error"}`. With `posted` (chat.postMessage), the
        message is posted first, as when Slack takes a message and its answer is an error.
        """
        if body is None:
            body = {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"}
        self._scripts.setdefault(method, []).append(
            _Scripted(status, body, dict(headers or {}), dict(match or {}), times, posted)
        )

    def posts_to(self, channel: str) -> list[dict[str, Any]]:
        """Every message posted to a channel (thread replies too), oldest first."""
        return list(self.posted.get(channel, []))

    def calls(self, method: str, **match: Any) -> list[Recorded]:
        """Requests of one method whose body contains every `match` item."""
        return [
            r
            for r in self.requests
            if r.method == method and all(r.body.get(k) == v for k, v in match.items())
        ]

    def add_user(
        self,
        user_id: str,
        real_name: str,
        *,
        tz: str = "Europe/London",
        email: str | None = None,
        display_name: str = "",
        is_bot: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Add a person (or bot) to the workspace, shaped as `users.info` returns them.

        A deactivated user keeps only what Slack still shows for one: no time zone.
        """
        handle = real_name.split(" ")[0].lower()
        profile: dict[str, Any] = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display_name,
            "display_name_normalized": display_name,
            "team": "T0TEAM",
        }
        if email is not None:
            profile["email"] = email
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": "T0TEAM",
            "name": handle,
            "deleted": deleted,
            "real_name": real_name,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": profile,
        }
        if not deleted:
            user.update(
                {
                    "color": "9f69e7",
                    "tz": tz,
                    "tz_label": tz,
                    "tz_offset": 0,
                    "is_admin": False,
                    "is_owner": False,
                    "is_restricted": False,
                    "is_ultra_restricted": False,
                }
            )
        self.users[user_id] = user
        return user

    async def wait_for(
        self, method: str, count: int = 1, within: float = 10.0, **match: Any
    ) -> list[Recorded]:
        """Wait until at least `count` matching requests arrived; returns them all."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = self.calls(method, **match)
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                seen = [
                    (r.method, r.body.get("channel") or r.body.get("users")) for r in self.requests
                ]
                raise AssertionError(f"{count} x {method} {match} not received; got {seen}")
            await asyncio.sleep(0.02)

    # -- handlers ----------------------------------------------------------------------

    async def _read(self, request: web.Request) -> dict[str, Any]:
        body: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            raw = await request.text()
            body.update(json.loads(raw) if raw else {})
        else:
            body.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for key in ("view", "blocks"):
            if isinstance(body.get(key), str):
                body[key] = json.loads(body[key])
        return body

    def _scripted(self, method: str, body: dict[str, Any]) -> _Scripted | None:
        for item in self._scripts.get(method, []):
            if all(body.get(k) == v for k, v in item.match.items()):
                item.times -= 1
                if item.times <= 0:
                    self._scripts[method].remove(item)
                return item
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._read(request)
        self.requests.append(Recorded(method, body, dict(request.headers), request.path))
        scripted = self._scripted(method, body)
        if scripted is not None:
            if scripted.posted and method == "chat.postMessage":
                self._answer(method, body)
            return web.json_response(
                scripted.body, status=scripted.status, headers=scripted.headers
            )
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_access(body))
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        answer = self._answer(method, body)
        if method == "chat.postMessage" and self.post_delay > 0:
            # Posted already; the answer is slow (and never comes if the fake stops).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.post_delay)
        return web.json_response(answer)

    def _next_ts(self) -> str:
        micros = max(self._last_us + 1, int(Decimal(str(self.clock())) * 1_000_000))
        self._last_us = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "strategybot",
                "team_id": "T0TEAM",
                "user_id": "U0BOT",
                "bot_id": "B0BOT",
                "is_enterprise_install": False,
            }
        if method == "conversations.open":
            user = str(body.get("users", "")).split(",")[0]
            return {"ok": True, "channel": {"id": "D" + user[1:]}}
        if method == "chat.postMessage":
            return self._post(body)
        if method == "chat.update":
            return self._update(body)
        if method == "conversations.history":
            return self._history(body)
        if method == "conversations.replies":
            return self._replies(body)
        if method == "files.getUploadURLExternal":
            return self._upload_url(body)
        if method == "files.completeUploadExternal":
            return self._complete_upload(body)
        if method in ("views.open", "views.publish", "views.update"):
            view = dict(body.get("view") or {})
            view.update({"id": f"V{next(self._ts):08d}", "hash": "1700000000.abc"})
            return {"ok": True, "view": view}
        if method in _DIRECTORY_METHODS:
            return self._directory(method, body)
        return {"ok": False, "error": "unknown_method"}

    # -- messages -----------------------------------------------------------------------

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": "U0BOT",
            "bot_id": "B0BOT",
            "app_id": "A0APP",
            "text": body.get("text", ""),
            "blocks": body.get("blocks", []),
            "team": "T0TEAM",
            "ts": ts,
        }
        metadata = body.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if isinstance(metadata, dict):
            message["metadata"] = {
                "event_type": metadata.get("event_type"),
                "event_payload": metadata.get("event_payload", {}),
            }
        thread = body.get("thread_ts")
        if thread:
            message["thread_ts"] = thread
            message["parent_user_id"] = "U0BOT"
            for parent in self.posted.get(channel, []):
                if parent["ts"] == thread:
                    parent.setdefault("thread_ts", thread)
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
                    parent["latest_reply"] = ts
        self.posted.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(body.get("channel") or ""), str(body.get("ts") or "")
        message: dict[str, Any] = {
            "type": "message",
            "user": "U0BOT",
            "bot_id": "B0BOT",
            "text": body.get("text", ""),
            "blocks": body.get("blocks", []),
            "ts": ts,
        }
        for stored in self.posted.get(channel, []):
            if stored["ts"] == ts:
                stored.update(text=message["text"], blocks=message["blocks"])
                stored["edited"] = {"user": "U0BOT", "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": message,
        }

    @staticmethod
    def _flag(value: Any) -> bool:
        return str(value).lower() in ("1", "true")

    @staticmethod
    def _when(value: Any) -> Decimal | None:
        if value in (None, ""):
            return None
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None

    @staticmethod
    def _shown(message: dict[str, Any], metadata: bool) -> dict[str, Any]:
        shown = copy.deepcopy(message)
        if not metadata:
            shown.pop("metadata", None)
        return shown

    def _history(self, body: dict[str, Any]) -> dict[str, Any]:
        """Slack's `conversations.history`: top-level messages, newest first, paginated."""
        channel = str(body.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        try:
            limit = min(max(int(body.get("limit") or 100), 1), 999)
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        inclusive = self._flag(body.get("inclusive"))
        oldest, latest = self._when(body.get("oldest")), self._when(body.get("latest"))
        before: Decimal | None = None
        cursor = str(body.get("cursor") or "")
        if cursor:
            try:
                before = Decimal(base64.b64decode(cursor).decode().removeprefix("next_ts:"))
            except (ValueError, InvalidOperation):
                return {"ok": False, "error": "invalid_cursor"}
        found = []
        for message in reversed(self.posted.get(channel, [])):
            ts = Decimal(message["ts"])
            if message.get("thread_ts") not in (None, message["ts"]):
                continue  # a thread reply: not in the channel's history
            if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
                continue
            if latest is not None and (ts > latest or (ts == latest and not inclusive)):
                continue
            if before is not None and ts > before:
                continue
            found.append(message)
        page, rest = found[:limit], found[limit:]
        metadata = self._flag(body.get("include_all_metadata"))
        answer: dict[str, Any] = {
            "ok": True,
            "messages": [self._shown(m, metadata) for m in page],
            "has_more": bool(rest),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if rest:
            next_cursor = base64.b64encode(f"next_ts:{rest[0]['ts']}".encode()).decode()
            answer["response_metadata"] = {"next_cursor": next_cursor}
        return answer

    def _replies(self, body: dict[str, Any]) -> dict[str, Any]:
        """Slack's `conversations.replies`: a thread, parent first, oldest first, paginated."""
        channel, parent = str(body.get("channel") or ""), str(body.get("ts") or "")
        messages = self.posted.get(channel, [])
        if not any(m["ts"] == parent for m in messages):
            return {"ok": False, "error": "thread_not_found"}
        thread = [m for m in messages if m["ts"] == parent or m.get("thread_ts") == parent]
        try:
            limit = min(max(int(body.get("limit") or 1000), 1), 1000)
            cursor = str(body.get("cursor") or "")
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        page = thread[start : start + limit]
        more = start + limit < len(thread)
        metadata = self._flag(body.get("include_all_metadata"))
        answer: dict[str, Any] = {
            "ok": True,
            "messages": [self._shown(m, metadata) for m in page],
            "has_more": more,
        }
        if more:
            next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode()
            answer["response_metadata"] = {"next_cursor": next_cursor}
        return answer

    def _directory(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """Slack's answers to the directory reads (errors as Slack names them)."""
        if method == "users.info":
            user = self.users.get(str(body.get("user", "")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            wanted = str(body.get("email", "")).casefold()
            for user in self.users.values():
                if str(user["profile"].get("email", "")).casefold() == wanted:
                    return {"ok": True, "user": user}
            return {"ok": False, "error": "users_not_found"}
        if method == "usergroups.users.list":
            group = self.usergroups.get(str(body.get("usergroup", "")))
            if group is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(group)}
        # conversations.members: a page of `limit` (default 100) from the cursor's offset.
        members = self.channels.get(str(body.get("channel", "")))
        if members is None:
            return {"ok": False, "error": "channel_not_found"}
        try:
            limit = min(int(body.get("limit") or 100), 1000, self.members_page_size)
            cursor = str(body.get("cursor") or "")
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        page = members[start : start + limit]
        more = start + limit < len(members)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _oauth_access(self, body: dict[str, Any]) -> dict[str, Any]:
        """Slack's `oauth.v2.access` answer for a bot-only install (or a token refresh)."""
        n = next(self._ts)
        if body.get("grant_type") == "refresh_token":
            if not str(body.get("refresh_token", "")).startswith("xoxe-1-"):
                return {"ok": False, "error": "invalid_refresh_token"}
        elif not body.get("code"):
            return {"ok": False, "error": "invalid_code"}
        token = f"xoxb-{self.install_team}-{n}" + ("-rotating" if self.rotation else "")
        if self.rotation:
            token = _slack_length(token)
        self.tokens.add(token)
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": "A0APP",
            "authed_user": {"id": "U0INSTALLER"},
            "scope": (
                "chat:write,commands,im:history,channels:history,groups:history,im:write,"
                "files:write"
            ),
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": "U0BOT",
            "team": {"id": self.install_team, "name": "Acme"},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if self.rotation or body.get("grant_type") == "refresh_token":
            answer["refresh_token"] = _slack_length(f"xoxe-1-{n}")
            self.refresh_tokens.add(answer["refresh_token"])
            answer["expires_in"] = 43200
        return answer

    # -- files ------------------------------------------------------------------------

    def _upload_url(self, body: dict[str, Any]) -> dict[str, Any]:
        """Slack's `files.getUploadURLExternal`: an upload URL and the file's id."""
        filename = str(body.get("filename") or "")
        try:
            length = int(body.get("length") or 0)
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not filename or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ts):010d}"
        self.pending_files[file_id] = {"name": filename, "length": length}
        return {"ok": True, "upload_url": f"{self._base}/upload/v1/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: the file's bytes in the body (raw, as slack_sdk sends them)."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        self.requests.append(
            Recorded(
                "upload",
                {"file_id": file_id, "length": len(data)},
                dict(request.headers),
                request.path,
            )
        )
        if file_id not in self.pending_files:
            return web.Response(status=404, text="file not found")
        self.uploads[file_id] = data
        return web.Response(text=f"OK - {len(data)}")

    def _complete_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        """Slack's `files.completeUploadExternal`: finish the uploads, share them if asked."""
        raw = body.get("files")
        try:
            wanted = json.loads(raw) if isinstance(raw, str) else list(raw or [])
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        shared = []
        for item in wanted:
            file_id = str(item.get("id") or "")
            pending = self.pending_files.get(file_id)
            if pending is None or file_id not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            if len(self.uploads[file_id]) != pending["length"]:
                return {"ok": False, "error": "file_upload_size_mismatch"}
            shared.append(
                {
                    "id": file_id,
                    "created": int(self.clock()),
                    "timestamp": int(self.clock()),
                    "name": pending["name"],
                    "title": item.get("title") or pending["name"],
                    "mimetype": "application/octet-stream",
                    "filetype": pending["name"].rsplit(".", 1)[-1],
                    "user": "U0BOT",
                    "size": pending["length"],
                    "mode": "hosted",
                    "is_external": False,
                    "is_public": False,
                    "url_private": f"https://files.slack.com/files-pri/T0TEAM-{file_id}/x",
                    "permalink": f"https://acme.slack.com/files/U0BOT/{file_id}/x",
                }
            )
        channel = str(body.get("channel_id") or "")
        if channel:
            message: dict[str, Any] = {
                "type": "message",
                "text": body.get("initial_comment", ""),
                "files": shared,
                "upload": True,
                "user": "U0BOT",
                "bot_id": "B0BOT",
                "display_as_bot": False,
                "team": "T0TEAM",
                "ts": self._next_ts(),
            }
            thread = body.get("thread_ts")
            if thread:
                message["thread_ts"] = thread
            self.posted.setdefault(channel, []).append(message)
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shared]}

    def files_in(self, channel: str) -> list[dict[str, Any]]:
        """Every file shared in a channel (as its messages list them), oldest first."""
        return [f for m in self.posted.get(channel, []) for f in m.get("files") or []]

    async def _respond(self, request: web.Request) -> web.Response:
        body = await self._read(request)
        self.requests.append(Recorded("respond", body, dict(request.headers), request.path))
        return web.Response(text="ok")


ROTATING_TOKEN_LENGTH = 150  # about what Slack issues with token rotation on


def _slack_length(prefix: str) -> str:
    """`prefix` padded with token characters to the length of Slack's rotating tokens."""
    tail = hashlib.sha256(prefix.encode()).hexdigest() * 3
    return f"{prefix}-{tail}"[:ROTATING_TOKEN_LENGTH]
