"""Assembles the one process: database, engine, outbox worker, scheduler, adapters, HTTP.

Everything is wired here and nowhere else, so each part can be built alone in tests. The
aiohttp application owns the lifecycle: `on_startup` starts the worker and the scheduler,
`on_cleanup` stops them, so `web.run_app` and test servers behave the same.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.adapters.base import Adapter, Directory
from bot.adapters.console.adapter import ConsoleAdapter
from bot.adapters.console.routes import register_console_routes
from bot.config import Settings
from bot.delivery.outbox import OutboxWorker
from bot.flows.commands import ask_target
from bot.flows.digest_model import Digest
from bot.flows.directory import MembershipRefresher
from bot.flows.engine import Engine, EngineHooks
from bot.flows.events import CommandInvoked, InboundEvent
from bot.flows.export_chat import BuiltFile, build_file, offered_file, record_handed_out
from bot.flows.outbound import FileReply, Notice, OutboundMessage, Outgoing
from bot.flows.overview import (
    ConversationOverview,
    PromptRef,
    conversation_overview,
    opening_prompt,
    strategy_digest,
)
from bot.flows.queueing import enqueue
from bot.flows.roles import Role, roles_of
from bot.flows.summary import OpenAICompatible, Summariser
from bot.flows.sync import sync_playbook
from bot.health import HealthProbe, register_health_routes
from bot.intake.commands import CommandRunner
from bot.intake.commands import store as store_command
from bot.metrics import Metrics
from bot.playbook.loader import DEFAULT_PLAYBOOK, load_playbook
from bot.playbook.model import Playbook
from bot.scheduling.scheduler import RoundScheduler
from bot.startup import database_errors
from storage.db import Database
from storage.migrate import upgrade
from storage.references import References

log = logging.getLogger(__name__)
RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime")


@dataclass
class Runtime:
    """The running parts of the bot, reachable from request handlers."""

    settings: Settings
    db: Database
    playbook: Playbook
    engine: Engine
    metrics: Metrics
    adapters: dict[str, Adapter] = field(default_factory=dict)
    # People directories by platform (Slack's, when mounted): see `refresh_membership`.
    directories: dict[str, Directory] = field(default_factory=dict)
    worker: OutboxWorker | None = None
    scheduler: RoundScheduler | None = None
    commands: CommandRunner | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    # Threads carrying on a big round's chunks: joined before the database is closed, so
    # none is left holding a connection of a pool that is gone.
    _threads: list[threading.Thread] = field(default_factory=list)

    async def handle(self, event: InboundEvent) -> list[Outgoing]:
        """Run an inbound event through the engine (in a worker thread)."""
        platform = event.actor.split(":", 1)[0]
        self.metrics.inbound.labels(platform=platform, kind=type(event).__name__).inc()
        opening = ask_target(event, self.playbook)  # an admin's `ask`: read who is in it first
        if opening is not None:
            await self.refresh_membership(opening)
        try:
            return await asyncio.to_thread(self.engine.handle, event)
        except Exception:
            self.metrics.errors.inc()
            raise

    async def store_command(self, event: CommandInvoked, *, dedup_key: str) -> bool:
        """Store a command to carry out after the platform's ack (`bot.intake.commands`).

        Returns:
            False when this request was stored before (a replay): it will not run twice.

        Raises:
            Exception: the database could not store it; the platform must not get an ack.
        """
        now = self.engine.clock()
        stored = await asyncio.to_thread(
            store_command, self.db, dedup_key=dedup_key, event=event, now=now
        )
        if self.commands is not None:
            self.commands.notify()
        return stored

    async def refresh_membership(self, conversation_key: str) -> None:
        """Read the conversation's groups from the chat directories, right before it opens.

        Awaited before an admin's `ask` reaches the engine and by the scheduler before a
        scheduled or catch-up round, so the engine, which stays synchronous and knows no
        platform, opens the round from up-to-date rows. It never raises: whatever the
        directories fail to answer keeps its last known members (`bot.flows.directory`),
        and a source of a platform that is not configured is logged each time.
        """
        refresher = MembershipRefresher(
            self.db, self.playbook, self.directories, clock=self.engine.clock
        )
        await refresher.refresh(conversation_key)

    # -- the adapters' port (`bot.adapters.base.Core`) -----------------------------------

    @property
    def cio_channel(self) -> str:
        """Where digests are posted."""
        return self.playbook.cio_channel

    @property
    def organisation(self) -> str:
        """The organisation's name."""
        return self.playbook.organisation

    def now(self) -> datetime:
        """The engine's clock."""
        return self.engine.clock()

    def roles(self, actor: str) -> set[Role]:
        """The roles of an identity, from the playbook."""
        return roles_of(self.playbook, actor)

    async def open_prompts(self, actor: str) -> list[OutboundMessage]:
        """What `mine` shows, without its effects."""
        return await asyncio.to_thread(self.engine.open_prompts, actor)

    async def overview(self) -> list[ConversationOverview]:
        """Every conversation's state, for a dashboard."""
        return await asyncio.to_thread(conversation_overview, self.db, self.engine.clock())

    async def strategy(self) -> Digest:
        """The enterprise digest, read-only, for the CIO's dashboard."""
        return await asyncio.to_thread(
            strategy_digest, self.db, self.engine.clock(), self.engine.playbook.organisation
        )

    async def opening_prompt(self, actor: str, round_id: int) -> PromptRef | None:
        """Where a round's opening prompt to `actor` was delivered."""
        return await asyncio.to_thread(self._opening_prompt, actor, round_id)

    def _opening_prompt(self, actor: str, round_id: int) -> PromptRef | None:
        with self.db.transaction() as session:
            return opening_prompt(session, actor, round_id)

    async def offered_file(self, address: str, token: str) -> FileReply | None:
        """The export offered to `address` under `token`, if still in the outbox."""
        return await asyncio.to_thread(self._offered_file, address, token)

    def _offered_file(self, address: str, token: str) -> FileReply | None:
        with self.db.reading() as session:
            return offered_file(session, address, token)

    async def build_file(self, reply: FileReply) -> BuiltFile:
        """An export's bytes, built now (in a worker thread, a read-only transaction)."""
        return await asyncio.to_thread(build_file, self.db, reply)

    async def file_handed_out(self, reply: FileReply, built: BuiltFile, how: str) -> None:
        """Audit one handing-out of an export's file."""
        await asyncio.to_thread(self._handed_out, reply, built, how)

    def _handed_out(self, reply: FileReply, built: BuiltFile, how: str) -> None:
        with self.db.transaction() as session:
            record_handed_out(session, reply, built, how, self.engine.clock())

    def welcome_writer(
        self, address: str, welcome: Notice, *, cause: str, personal: bool
    ) -> Callable[[Any], None]:
        """What an install writes in its own transaction (see `Engine.greet`)."""

        def write(session: Any) -> None:
            self.engine.greet(session, address, welcome, cause=cause, personal=personal)

        return write

    def outbox_changed(self) -> None:
        """Wake the outbox worker (something was queued outside `handle`)."""
        if self.worker is not None:
            self.worker.notify()

    async def queue(self, replies: list[Outgoing], prefix: str) -> None:
        """Queue an adapter's own notices (keys `prefix:0`, `prefix:1`...) and wake the worker."""
        await asyncio.to_thread(self._write_outbox, replies, prefix)
        self.outbox_changed()

    async def enqueue_replies(self, replies: list[Outgoing], prefix: str) -> None:
        """Deprecated name of `queue` (kept for callers written before the port)."""
        await self.queue(replies, prefix)

    def _write_outbox(self, replies: list[Outgoing], prefix: str) -> None:
        now = self.engine.clock()
        with self.db.transaction() as session:
            for index, reply in enumerate(replies):
                enqueue(
                    session,
                    key=f"{prefix}:{index}",
                    address=reply.address,
                    message=reply.message,
                    now=now,
                )


def load_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Load the playbook, prepare the database and build the engine (no I/O loops yet).

    Raises:
        PlaybookError: the playbook is invalid (nothing is written to the database).
        ConfigError: DATABASE_URL cannot be used (one line naming it).
        StartupError: the database cannot be reached, opened or written (one line).
    """
    playbook = load_playbook(settings.playbook_path or DEFAULT_PLAYBOOK)
    with database_errors(settings.database_url):  # the first connection
        if migrate:
            upgrade(settings.database_url)
        db = Database(settings.database_url)
        engine = Engine(db=db, playbook=playbook)
        with db.transaction() as session:
            sync_playbook(session, playbook, now=engine.clock())
    return Runtime(settings=settings, db=db, playbook=playbook, engine=engine, metrics=Metrics())


def console_people(playbook: Playbook) -> list[tuple[str, str, str]]:
    """Who the console lets you be: the CIO, admins, the playbook's own roles, every member."""
    people: dict[str, tuple[str, str, str]] = {}
    names = {m.id: m.name for g in playbook.groups.values() for m in g.members}
    for ident in playbook.roles.cio:
        people[ident] = (ident, names.get(ident) or "CIO", "cio")
    for ident in playbook.roles.admins:
        people.setdefault(ident, (ident, names.get(ident) or "Admin", "admin"))
    for role, holders in sorted(playbook.roles.named.items()):  # general counsel, to read
        for ident in holders:
            people.setdefault(ident, (ident, names.get(ident) or role.replace("_", " "), role))
    for key, group in playbook.groups.items():
        for m in group.members:
            people.setdefault(m.id, (m.id, m.name or m.id, key))
    return [p for p in people.values() if p[0].startswith("console:")]


def build_app(settings: Settings, *, migrate: bool = True) -> web.Application:
    """The aiohttp application with every enabled part mounted."""
    runtime = load_runtime(settings, migrate=migrate)
    app = web.Application(client_max_size=1024 * 1024)
    app[RUNTIME] = runtime
    register_health_routes(app, HealthProbe(runtime.db, clock=runtime.engine.clock))
    app.router.add_get("/metrics", _metrics)
    if settings.console_on:
        console = ConsoleAdapter(
            handle=runtime.handle, people=console_people(runtime.playbook), files=runtime
        )
        runtime.adapters["console"] = console
        register_console_routes(app, console)
    else:
        app.router.add_get("/", _index)
    if settings.slack_configured:
        from bot.adapters.slack.app import mount_slack
        from storage.dm_channels import DmChannelStore

        slack, directory = mount_slack(
            app, runtime, settings, runtime.db.engine, DmChannelStore(runtime.db)
        )
        runtime.adapters[slack.platform] = slack
        # Groups defined as Slack user groups or channels, `email:` members, time zones.
        runtime.directories[slack.platform] = directory
    if settings.teams_configured:
        from bot.adapters.teams.app import mount_teams

        teams = mount_teams(app, runtime, settings, References(runtime.db))
        runtime.adapters[teams.platform] = teams
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    return app


async def _start(app: web.Application) -> None:
    rt = app[RUNTIME]
    loop = asyncio.get_running_loop()
    worker = OutboxWorker(
        rt.db,
        rt.adapters,
        clock=rt.engine.clock,
        max_attempts=rt.settings.outbox_max_attempts,
        poll_seconds=rt.settings.outbox_poll_seconds,
        per_destination_interval=rt.settings.outbox_destination_interval,
        lease_seconds=rt.settings.outbox_lease_seconds,
        concurrency=rt.settings.outbox_concurrency,
    )
    rt.worker = worker

    def outbox_changed() -> None:
        loop.call_soon_threadsafe(worker.notify)

    def continue_rounds() -> None:
        try:
            rt.engine.continue_rounds()
        except Exception:  # the next tick or event tries again
            log.exception("carrying on a round's opening or closing failed")

    def rounds_pending() -> None:
        # A big round's remaining chunks run in a thread of their own, so the event (or
        # the scheduler's job) that opened or closed it is answered at once.
        thread = threading.Thread(target=continue_rounds, name="rounds", daemon=True)
        rt._threads[:] = [t for t in rt._threads if t.is_alive()]
        rt._threads.append(thread)
        thread.start()

    hooks = EngineHooks(
        outbox_changed=outbox_changed,
        rounds_pending=rounds_pending,
        summariser=summariser_of(rt.settings),
    )
    rounds_pending()  # what a crash left of a round's opening or closing
    for adapter in rt.adapters.values():
        await adapter.start()
    rt._tasks.append(asyncio.create_task(worker.run(rt._stop), name="outbox"))
    # Commands acknowledged before they ran (and any a crash left behind) are carried out.
    rt.commands = CommandRunner(
        rt.db,
        rt.handle,
        clock=rt.engine.clock,
        on_queued=outbox_changed,  # called from worker threads
        lease=timedelta(seconds=rt.settings.outbox_lease_seconds),
    )
    rt._tasks.append(asyncio.create_task(rt.commands.run(rt._stop), name="commands"))
    if rt.settings.scheduler_enabled:
        scheduler = RoundScheduler(
            rt.engine,
            clock=rt.engine.clock,
            tick_seconds=rt.settings.tick_seconds,
            grace=timedelta(hours=rt.settings.missed_round_grace_hours),
            before_open=rt.refresh_membership,
        )
        rt.scheduler = scheduler

        def changed() -> None:
            loop.call_soon_threadsafe(
                lambda: rt._tasks.append(loop.create_task(scheduler.reschedule()))
            )

        hooks.schedule_changed = changed
        await scheduler.start()
    rt.engine.hooks = hooks
    log.info(
        "strategy-bot running: %d conversations, adapters: %s",
        len(rt.playbook.conversations),
        ", ".join(rt.adapters) or "none",
    )


async def _stop(app: web.Application) -> None:
    rt = app[RUNTIME]
    rt._stop.set()
    if rt.scheduler is not None:
        await rt.scheduler.stop()
    if rt.worker is not None:
        rt.worker.notify()
    if rt.commands is not None:
        rt.commands.notify()
    await asyncio.gather(*rt._tasks, return_exceptions=True)
    for adapter in rt.adapters.values():
        await adapter.stop()
    await asyncio.to_thread(_join, rt._threads, STOP_WAIT_SECONDS)
    rt.db.dispose()


# How long shutdown waits for a thread still doing a round's chunk (each chunk is one short
# transaction; a thread past this is abandoned, and its chunk is redone after the restart).
STOP_WAIT_SECONDS = 10.0


def _join(threads: list[threading.Thread], within: float) -> None:
    deadline = time.monotonic() + within
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


async def _metrics(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    body = await asyncio.to_thread(rt.metrics.render, rt.db)
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


async def _index(request: web.Request) -> web.Response:
    return web.Response(text="strategy-bot is running. See /healthz and /livez.\n")


def summariser_of(settings: Settings) -> Summariser | None:
    """The optional language-model summariser: only with SUMMARY_URL and SUMMARY_MODEL set."""
    if not (settings.summary_url and settings.summary_model):
        return None
    return OpenAICompatible(
        base_url=settings.summary_url,
        model=settings.summary_model,
        api_key=settings.summary_api_key,
        timeout=settings.summary_timeout_seconds,
    )
