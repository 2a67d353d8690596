"""Slack in many workspaces: the OAuth v2 install, per-workspace tokens, and Socket Mode.

Why it looks like this:

- **Our database, slack_sdk's schema.** Installations and OAuth states live in the bot's
  own database, in the tables of slack_sdk's `SQLAlchemyInstallationStore` and
  `SQLAlchemyOAuthStateStore` (created by Alembic, migration 0002, never `create_all`).
  slack_sdk's async SQLAlchemy stores need an `AsyncEngine` (aiosqlite/asyncpg), which the
  project does not use; like the rest of `storage/`, the sync stores run in a worker thread
  (`asyncio.to_thread`), behind the `AsyncInstallationStore`/`AsyncOAuthStateStore`
  interfaces that Bolt's `AsyncOAuthSettings` wants.
- **Bot tokens only** (`installation_store_bot_only=True`): strategy-bot acts as its bot
  user and asks for no user scopes, so Bolt looks up `slack_bots` per workspace.
- **Token rotation.** When the app has rotation on, Slack issues tokens that expire after
  12 hours with a refresh token. Bolt refreshes the token of an incoming request's
  workspace `token_rotation_expiration_minutes` before it expires; the outbox, which sends
  outside any request, refreshes the same way (`WorkspaceTokens.bot_token`) and saves the
  new pair, so both paths see the newest token.
- **Uninstall.** `app_uninstalled` and `tokens_revoked` (bot) delete the workspace's rows
  before the event is acknowledged; from then on the adapter finds no bot for that team and
  fails its messages with `app_uninstalled` without calling Slack. Because the database is
  the only record, this holds across restarts and replicas, and a reinstall just works.
- **Tokens encrypted at rest** (SECRETS_KEYS, `bot.encryption`): the store encrypts every
  token (bot, user, refresh) and the incoming webhook URL before slack_sdk writes them,
  and decrypts them after slack_sdk reads them, so Bolt's path and the outbox's refresh
  path both see plain tokens and the database holds none. A row stored in clear (installed
  before a key was set) is read as it is; `strategy-bot secrets rotate` (`reseal_tokens`)
  encrypts it, and re-encrypts the others with the first key. A token that no key
  decrypts is one error line naming the workspace (`UnreadableToken`): that workspace's
  messages fail with `token_unreadable`, and every other workspace carries on. Fernet
  tokens are longer than slack_sdk's VARCHAR(200) columns allow, so migration 0010
  widens them to TEXT.
- **States** are slack_sdk's random, expiring, single-use database states, signed with
  `SLACK_STATE_SECRET`, so a state this app did not issue is refused before the database is
  read.
- **Socket Mode** (`SLACK_APP_TOKEN`): Bolt's `AsyncSocketModeHandler` connects when the
  aiohttp app starts and closes when it shuts down; Slack then sends events, commands and
  interactivity over the WebSocket, so no public URL is needed. `POST /slack/events` is
  still served when `SLACK_SIGNING_SECRET` is set (Slack uses one or the other, per the
  app's "Socket Mode" switch); the OAuth pages are HTTP either way.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from logging import Logger
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from sqlalchemy import Engine, MetaData, Table, and_, desc, select

from bot.adapters.slack.adapter import (
    TOKEN_UNREADABLE,
    SlackAdapter,
    bind_request,
    make_client,
)
from bot.config import Settings
from bot.encryption import VARIABLE, Change, SecretBox, UnreadableSecret
from bot.logs import Throttled

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes of manifest.yml (tests/slack/test_manifest.py keeps them in step).
BOT_SCOPES = (
    "chat:write",
    "commands",
    "im:history",
    "channels:history",
    "groups:history",
    "im:write",
    "usergroups:read",
    "channels:read",
    "groups:read",
    "users:read",
    "users:read.email",
    "files:write",
)
TOKEN_ROTATION_MINUTES = 120  # Bolt's default: refresh two hours before expiry
STATE_EXPIRATION_SECONDS = 600
SOCKET_MODE: web.AppKey[AsyncSocketModeHandler] = web.AppKey("slack_socket_mode")

# The secret columns of slack_sdk's tables, and the attributes of its models they hold:
# what is encrypted at rest (README, "Data and privacy"). Migration 0010 widens them.
BOT_SECRETS = ("bot_token", "bot_refresh_token")
INSTALLATION_SECRETS = (
    *BOT_SECRETS,
    "user_token",
    "user_refresh_token",
    "incoming_webhook_url",
)
_Entity = TypeVar("_Entity", Bot, Installation)


class UnreadableToken(UnreadableSecret):
    """A workspace's stored token is encrypted with a key that is not in SECRETS_KEYS.

    Attributes:
        team_id: the workspace (None for an org-wide install).
        table: `slack_bots` or `slack_installations`.
        column: which secret (`bot_token`, ...).
    """

    def __init__(self, team_id: str | None, table: str, column: str, why: str) -> None:
        super().__init__(f"the {column} of workspace {team_id} in {table} cannot be read: {why}")
        self.team_id = team_id
        self.table = table
        self.column = column


class SqlInstallationStore(AsyncInstallationStore):
    """slack_sdk's SQLAlchemy installation store on our engine, awaited in a worker thread.

    Tokens are encrypted before slack_sdk stores them and decrypted after it reads them
    (`box`; see the module docstring).

    Args:
        client_id: the Slack app's client id (rows are per app).
        engine: the bot's database engine (`Database.engine`).
        box: the keys of SECRETS_KEYS (default: none, tokens stored in clear).
    """

    def __init__(self, *, client_id: str, engine: Engine, box: SecretBox | None = None) -> None:
        self.sync = SQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=logger)
        self.box = box or SecretBox()
        self._log = Throttled(logger)

    @property
    def logger(self) -> Logger:
        """The store's logger."""
        return logger

    # -- encryption at rest ----------------------------------------------------------------

    def _sealed(self, entity: _Entity, names: tuple[str, ...]) -> _Entity:
        """A copy of a bot or installation with its secrets as they are to be stored."""
        if not self.box.enabled:
            return entity
        sealed = copy.copy(entity)
        for name in names:
            setattr(sealed, name, self.box.seal(getattr(entity, name)))
        return sealed

    def _opened(self, entity: _Entity | None, table: str, names: tuple[str, ...]) -> _Entity | None:
        """A bot or installation read from the database, its secrets decrypted.

        Raises:
            UnreadableToken: one of them is encrypted with a key not in SECRETS_KEYS;
                logged here, naming the workspace (at most every 30 s for each).
        """
        if entity is None:
            return None
        for name in names:
            try:
                setattr(entity, name, self.box.open(getattr(entity, name)))
            except UnreadableSecret as exc:
                unreadable = UnreadableToken(entity.team_id, table, name, str(exc))
                self._log.error(
                    f"unreadable:{entity.team_id}",
                    "slack: %s; messages to that workspace fail (%s) until the key that "
                    "encrypted it is back in %s (README, Data and privacy)",
                    unreadable,
                    TOKEN_UNREADABLE,
                    VARIABLE,
                )
                raise unreadable from None
        return entity

    def _open_bot(self, bot: Bot | None) -> Bot | None:
        return self._opened(bot, "slack_bots", BOT_SECRETS)

    # -- AsyncInstallationStore ------------------------------------------------------------

    async def async_save(self, installation: Installation) -> None:
        """Save an installation (and its bot), its secrets encrypted."""
        sealed = self._sealed(installation, INSTALLATION_SECRETS)
        await asyncio.to_thread(self.sync.save, sealed)

    async def async_save_bot(self, bot: Bot) -> None:
        """Save a bot (after a token refresh), its secrets encrypted."""
        await asyncio.to_thread(self.sync.save_bot, self._sealed(bot, BOT_SECRETS))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The newest bot of a workspace or org, its tokens decrypted.

        Raises:
            UnreadableToken: its token is encrypted with a key not in SECRETS_KEYS (Bolt
                then answers as for a workspace without the app).
        """
        bot = await asyncio.to_thread(
            self.sync.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._open_bot(bot)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The newest installation of a workspace (by a user, if given), decrypted.

        Raises:
            UnreadableToken: a secret of it is encrypted with a key not in SECRETS_KEYS.
        """
        installation = await asyncio.to_thread(
            self.sync.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened(installation, "slack_installations", INSTALLATION_SECRETS)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Delete a workspace's bots."""
        await asyncio.to_thread(self.sync.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Delete a workspace's installations (one user's, if given)."""
        await asyncio.to_thread(
            self.sync.delete_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
        )

    async def find_team_bot(self, team_id: str) -> Bot | None:
        """The newest bot with a token in a workspace, whatever its enterprise (Grid) id.

        The outbox knows only the team of an address (`slack:T…/U…`), not the org.

        Raises:
            UnreadableToken: its token is encrypted with a key not in SECRETS_KEYS.
        """
        return self._open_bot(await asyncio.to_thread(self._find_team_bot, team_id))

    def _find_team_bot(self, team_id: str) -> Bot | None:
        table = self.sync.bots
        c = table.c
        query = (
            select(table)
            .where(
                and_(
                    c.client_id == self.sync.client_id,
                    c.team_id == team_id,
                    c.bot_token.is_not(None),
                )
            )
            .order_by(desc(c.installed_at))
            .limit(1)
        )
        with self.sync.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else SQLAlchemyInstallationStore.build_bot_entity(row)


class SignedStateStore(AsyncOAuthStateStore):
    """slack_sdk's SQLAlchemy state store, with states signed by SLACK_STATE_SECRET.

    Args:
        engine: the bot's database engine.
        secret: SLACK_STATE_SECRET.
        expiration_seconds: how long an install link stays valid.
    """

    def __init__(
        self, *, engine: Engine, secret: str, expiration_seconds: int = STATE_EXPIRATION_SECONDS
    ) -> None:
        self.sync = SQLAlchemyOAuthStateStore(
            expiration_seconds=expiration_seconds, engine=engine, logger=logger
        )
        self._key = secret.encode()

    @property
    def logger(self) -> Logger:
        """The store's logger."""
        return logger

    def _sign(self, state: str) -> str:
        return hmac.new(self._key, state.encode(), hashlib.sha256).hexdigest()[:32]

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new single-use state, stored and signed."""
        state = await asyncio.to_thread(self.sync.issue)
        return f"{state}.{self._sign(state)}"

    async def async_consume(self, state: str) -> bool:
        """Whether the state is ours, unexpired and unused (it is used up either way)."""
        raw, _, signature = state.rpartition(".")
        if not raw or not hmac.compare_digest(signature, self._sign(raw)):
            logger.warning("slack: refused an OAuth state this app did not sign")
            return False
        return await asyncio.to_thread(self.sync.consume, raw)


class WorkspaceTokens:
    """Bot tokens per workspace, for the outbox (refreshed when rotation is on).

    Args:
        store: the installation store.
        client_id: the app's client id.
        client_secret: the app's client secret (for refreshing tokens).
        base_url: the Web API root (SLACK_API_URL).
        rotation_minutes: refresh a token this long before it expires.
    """

    def __init__(
        self,
        *,
        store: SqlInstallationStore,
        client_id: str,
        client_secret: str,
        base_url: str,
        rotation_minutes: int = TOKEN_ROTATION_MINUTES,
    ) -> None:
        self.store = store
        self.rotation_minutes = rotation_minutes
        self._rotator = AsyncTokenRotator(
            client_id=client_id,
            client_secret=client_secret,
            client=make_client(token=None, base_url=base_url),
        )
        self._locks: dict[str, asyncio.Lock] = {}

    async def bot_token(self, team_id: str) -> str | None:
        """The workspace's bot token, refreshed first if it expires soon.

        Returns:
            None when the app is not installed there (uninstalled, tokens revoked, never).

        Raises:
            SlackApiError: refreshing failed at Slack (the outbox retries or fails it).
        """
        lock = self._locks.setdefault(team_id, asyncio.Lock())
        async with lock:  # one refresh per workspace at a time in this process
            bot = await self.store.find_team_bot(team_id)
            if bot is None:
                return None
            if bot.bot_refresh_token and bot.bot_token_expires_at:
                refreshed = await self._rotator.perform_bot_token_rotation(
                    bot=bot, minutes_before_expiration=self.rotation_minutes
                )
                if refreshed is not None:
                    await self.store.async_save_bot(refreshed)
                    logger.info("slack: refreshed the bot token of %s", team_id)
                    bot = refreshed
            return bot.bot_token


# -- the stored tokens as a whole: start-up state, `strategy-bot secrets rotate` -----------


def _secret_tables() -> list[tuple[Table, tuple[str, ...]]]:
    """slack_sdk's two tables with tokens, as slack_sdk declares them, and their secrets."""
    metadata = MetaData()
    installations = SQLAlchemyInstallationStore.build_installations_table(
        metadata, "slack_installations"
    )
    bots = SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    return [(installations, INSTALLATION_SECRETS), (bots, BOT_SECRETS)]


@dataclass
class StoredTokens:
    """How the stored secrets stand against the configured keys (read, nothing written).

    Attributes:
        clear: values stored in clear.
        encrypted: values a configured key decrypts.
        unreadable: values encrypted with no configured key, one entry each.
    """

    clear: int = 0
    encrypted: int = 0
    unreadable: list[UnreadableToken] = field(default_factory=list)


def stored_tokens(engine: Engine, box: SecretBox) -> StoredTokens:
    """Count the stored secrets in clear, encrypted and unreadable (every app's rows)."""
    state = StoredTokens()
    for table, names in _secret_tables():
        for row in _rows(engine, table, names):
            for name in names:
                value = row[name]
                if value is None or value == "":
                    continue
                try:
                    opened = box.open(value)
                except UnreadableSecret as exc:
                    state.unreadable.append(
                        UnreadableToken(row["team_id"], table.name, name, str(exc))
                    )
                    continue
                if opened == value:
                    state.clear += 1
                else:
                    state.encrypted += 1
    return state


def _rows(engine: Engine, table: Table, names: tuple[str, ...]) -> Iterator[Mapping[str, Any]]:
    query = select(table.c.id, table.c.team_id, *(table.c[n] for n in names))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(table.c.id)).mappings().all()
    for row in rows:
        yield dict(row)


def log_stored_tokens(engine: Engine, box: SecretBox) -> StoredTokens:
    """Say once, at start-up, whether the workspace tokens are encrypted at rest.

    Without SECRETS_KEYS: a warning that they are stored in clear. With it: how many are
    still in clear (installed before the key was set; `secrets rotate` encrypts them).
    Either way, every token no configured key decrypts is an error line naming its
    workspace.
    """
    state = stored_tokens(engine, box)
    if not box.enabled:
        logger.warning(
            "slack: %s is not set: the workspace tokens in slack_bots and slack_installations "
            "are stored in clear (README, Data and privacy)",
            VARIABLE,
        )
    else:
        logger.info(
            "slack: workspace tokens are encrypted at rest with the first of the %d key(s) "
            "in %s (%d stored encrypted)",
            box.key_count,
            VARIABLE,
            state.encrypted,
        )
        if state.clear:
            logger.warning(
                "slack: %d token(s) are still stored in clear (installed before %s was set); "
                "they are used as they are until 'strategy-bot secrets rotate' encrypts them",
                state.clear,
                VARIABLE,
            )
    by_team: dict[str | None, list[str]] = {}
    for unreadable in state.unreadable:
        by_team.setdefault(unreadable.team_id, []).append(
            f"{unreadable.column} in {unreadable.table}"
        )
    for team_id, where in by_team.items():
        logger.error(
            "slack: the stored tokens of workspace %s (%s) are encrypted with a key that is "
            "not in %s%s; messages to that workspace fail (%s) until that key is back",
            team_id,
            ", ".join(where),
            VARIABLE,
            "" if box.enabled else " (it is not set)",
            TOKEN_UNREADABLE,
        )
    return state


@dataclass
class ResealReport:
    """What `reseal_tokens` did to the stored secrets.

    Attributes:
        encrypted: clear values now encrypted with the first key.
        rotated: values encrypted with another key, now with the first.
        decrypted: encrypted values now stored in clear (`clear=True`).
        unchanged: values already as asked (encrypted with the first key, or clear).
        unreadable: values no configured key decrypts, left as they are.
    """

    encrypted: int = 0
    rotated: int = 0
    decrypted: int = 0
    unchanged: int = 0
    unreadable: list[UnreadableToken] = field(default_factory=list)


_RESEAL_ATTEMPTS = 5


def reseal_tokens(engine: Engine, box: SecretBox, *, clear: bool = False) -> ResealReport:
    """Re-encrypt every stored secret with the first key (`strategy-bot secrets rotate`).

    Clear values (installed before a key was set) are encrypted, values encrypted with an
    older key are re-encrypted with the first one (`MultiFernet.rotate`), and values no
    key decrypts are reported and left alone. With `clear`, every value is decrypted and
    stored in clear instead (`strategy-bot secrets decrypt`, before dropping SECRETS_KEYS).

    Each row is rewritten in its own short transaction, and only if its secrets are still
    what was read (a running bot may refresh a token meanwhile; the row is then read
    again), so this is safe while the bot runs, and safe to run again.

    Raises:
        ValueError: no key is configured and `clear` is not asked for.
    """
    if not clear and not box.enabled:
        raise ValueError(f"{VARIABLE} is not set: there is no key to encrypt with")
    report = ResealReport()
    for table, names in _secret_tables():
        with engine.connect() as conn:
            ids: list[int] = list(conn.scalars(select(table.c.id).order_by(table.c.id)))
        for row_id in ids:
            _reseal_row(engine, table, names, row_id, box, clear, report)
    return report


def _reseal_row(
    engine: Engine,
    table: Table,
    names: tuple[str, ...],
    row_id: int,
    box: SecretBox,
    clear: bool,
    report: ResealReport,
) -> None:
    c = table.c
    for _ in range(_RESEAL_ATTEMPTS):
        with engine.begin() as conn:
            query = select(c.team_id, *(c[n] for n in names)).where(c.id == row_id)
            row = conn.execute(query).mappings().first()
            if row is None:
                return  # deleted meanwhile (an uninstall)
            values: dict[str, str | None] = {}
            changes: list[Change] = []
            unreadable: list[UnreadableToken] = []
            for name in names:
                try:
                    value, change = box.reseal(row[name], clear=clear)
                except UnreadableSecret as exc:
                    unreadable.append(UnreadableToken(row["team_id"], table.name, name, str(exc)))
                    continue
                changes.append(change)
                if change is not Change.NONE:
                    values[name] = value
            if values:
                unchanged = and_(*(c[n].is_not_distinct_from(row[n]) for n in names))
                written = conn.execute(
                    table.update().where(c.id == row_id, unchanged).values(**values)
                )
                if written.rowcount != 1:
                    continue  # changed since it was read: read it again
        report.encrypted += changes.count(Change.ENCRYPTED)
        report.rotated += changes.count(Change.ROTATED)
        report.decrypted += changes.count(Change.DECRYPTED)
        report.unchanged += changes.count(Change.NONE)
        report.unreadable.extend(unreadable)
        return
    raise RuntimeError(f"{table.name} row {row_id} kept changing while it was re-encrypted")


def build_workspace_tokens(settings: Settings, engine: Engine) -> WorkspaceTokens:
    """The installation store and token source of an OAuth deployment.

    Its tokens are encrypted with SECRETS_KEYS when set; the log says once how the stored
    ones stand (`log_stored_tokens`).

    Raises:
        ValueError: OAuth is not configured (check `settings.slack_oauth` first).
    """
    if not (settings.slack_client_id and settings.slack_client_secret):
        raise ValueError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are not set")
    box = SecretBox(settings.secret_keys)
    store = SqlInstallationStore(client_id=settings.slack_client_id, engine=engine, box=box)
    log_stored_tokens(engine, box)
    return WorkspaceTokens(
        store=store,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        base_url=settings.slack_api_url,
    )


def build_oauth_settings(
    settings: Settings, tokens: WorkspaceTokens, engine: Engine
) -> AsyncOAuthSettings:
    """Bolt's OAuth settings: our stores, the manifest's bot scopes, no user scopes.

    The redirect URI is `PUBLIC_URL` + `/slack/oauth_redirect` when PUBLIC_URL is set
    (otherwise Slack uses the app's only configured redirect URL).

    Raises:
        ValueError: OAuth is not fully configured.
    """
    if not (
        settings.slack_client_id and settings.slack_client_secret and settings.slack_state_secret
    ):
        raise ValueError("SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET are needed")
    redirect_uri = settings.public_url.rstrip("/") + REDIRECT_PATH if settings.public_url else None
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=redirect_uri,
        install_path=INSTALL_PATH,
        install_page_rendering_enabled=False,  # /slack/install redirects straight to Slack
        redirect_uri_path=REDIRECT_PATH,
        installation_store=tokens.store,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=tokens.rotation_minutes,
        state_store=SignedStateStore(engine=engine, secret=settings.slack_state_secret),
        state_expiration_seconds=STATE_EXPIRATION_SECONDS,
        logger=logging.getLogger("bot.adapters.slack.oauth"),
    )


def bolt_auth_options(settings: Settings, adapter: SlackAdapter, engine: Engine) -> dict[str, Any]:
    """The `AsyncApp` keyword arguments that say how requests are authorized.

    One workspace: the adapter's client and its static bot token. OAuth: a token-less
    client (Bolt puts the workspace's token on each request's client) and the OAuth
    settings.
    """
    tokens = workspace_tokens(adapter)
    if tokens is None:
        return {"client": adapter.default_client}
    return {
        "client": make_client(token=None, base_url=settings.slack_api_url),
        "oauth_settings": build_oauth_settings(settings, tokens, engine),
    }


def workspace_tokens(adapter: SlackAdapter) -> WorkspaceTokens | None:
    """The adapter's per-workspace tokens, if it has them (a multi-workspace install).

    The adapter sees them through a protocol (it must not import this module); here, where
    they were built, they are the concrete store with its installations.
    """
    tokens = adapter.workspaces
    return tokens if isinstance(tokens, WorkspaceTokens) else None


def register_install_listeners(bolt: AsyncApp, adapter: SlackAdapter) -> None:
    """Listeners for uninstalls and token revocations, and the per-workspace request binding.

    In OAuth mode a global middleware binds each request's workspace and token-bearing
    client for the listeners (see `bind_request`), so identities become `slack:T…/U…` and
    `views.open`/`views.publish` use that workspace's token.
    """
    tokens = workspace_tokens(adapter)

    async def on_app_uninstalled(
        ack: Callable[..., Awaitable[Any]], context: AsyncBoltContext
    ) -> None:
        await forget_workspace(adapter, context.enterprise_id, context.team_id, "app_uninstalled")
        await ack()

    async def on_tokens_revoked(
        ack: Callable[..., Awaitable[Any]], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        revoked = event.get("tokens") or {}
        if revoked.get("bot"):
            await forget_workspace(
                adapter, context.enterprise_id, context.team_id, "tokens_revoked"
            )
        elif tokens is not None:
            for user_id in revoked.get("oauth") or []:
                await tokens.store.async_delete_installation(
                    enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user_id
                )
        await ack()

    bolt.event("app_uninstalled")(on_app_uninstalled)
    bolt.event("tokens_revoked")(on_tokens_revoked)

    if tokens is not None:

        async def bind_workspace(
            context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
        ) -> Any:
            bind_request(context.team_id, context.client)
            return await next()

        bolt.middleware(bind_workspace)


async def forget_workspace(
    adapter: SlackAdapter, enterprise_id: str | None, team_id: str | None, why: str
) -> None:
    """Stop all sending to a workspace: delete its installation (OAuth) or mark the token dead.

    Runs before the event is acknowledged, so a crash means Slack redelivers it.
    """
    logger.warning("slack: %s in workspace %s; no more messages go there", why, team_id)
    tokens = workspace_tokens(adapter)
    if tokens is not None:
        await tokens.store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
    else:
        adapter.mark_uninstalled()


def mount_oauth_routes(app: web.Application, bolt: AsyncApp) -> None:
    """Serve `GET /slack/install` (redirect to Slack) and `GET /slack/oauth_redirect`."""
    flow = bolt.oauth_flow
    if flow is None:
        raise ValueError("the Bolt app has no OAuth flow")

    async def install(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def oauth_redirect(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    app.router.add_get(INSTALL_PATH, install)
    app.router.add_get(REDIRECT_PATH, oauth_redirect)
    logger.info("slack: OAuth install at %s, redirect %s", INSTALL_PATH, REDIRECT_PATH)


def mount_socket_mode(app: web.Application, bolt: AsyncApp, app_token: str) -> None:
    """Connect to Slack over Socket Mode while the aiohttp app runs.

    The handler is built in `on_startup` (its aiohttp session needs the running loop) and
    connects there; it closes first thing in `on_shutdown`, so no new event arrives while
    background work drains and the outbox stops. It is kept as `app[SOCKET_MODE]`.
    """
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    async def connect(app: web.Application) -> None:
        handler = AsyncSocketModeHandler(
            bolt, app_token, logger=logging.getLogger("bot.adapters.slack.socket")
        )
        app[SOCKET_MODE] = handler
        await handler.connect_async()
        logger.info("slack: connected over Socket Mode")

    async def close(app: web.Application) -> None:
        handler = app.get(SOCKET_MODE)
        if handler is not None:
            await handler.close_async()
            logger.info("slack: Socket Mode connection closed")

    app.on_startup.append(connect)
    app.on_shutdown.insert(0, close)


__all__ = [
    "BOT_SCOPES",
    "BOT_SECRETS",
    "INSTALLATION_SECRETS",
    "INSTALL_PATH",
    "REDIRECT_PATH",
    "SOCKET_MODE",
    "TOKEN_UNREADABLE",
    "ResealReport",
    "SignedStateStore",
    "SqlInstallationStore",
    "StoredTokens",
    "UnreadableToken",
    "WorkspaceTokens",
    "bolt_auth_options",
    "build_oauth_settings",
    "build_workspace_tokens",
    "forget_workspace",
    "log_stored_tokens",
    "mount_oauth_routes",
    "mount_socket_mode",
    "register_install_listeners",
    "reseal_tokens",
    "stored_tokens",
]
