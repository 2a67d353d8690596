"""Typed settings, read once from the environment at start-up.

Nothing else in the code reads `os.environ`: everything it needs is a field here, so the
README's configuration table and this class are the single list of knobs. Errors name the
environment variable that is wrong.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import i18n
from bot.encryption import parse_keys
from bot.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///strategy-bot.db"


class Settings(BaseSettings):
    """Every environment variable strategy-bot reads (see the README's configuration table)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", alias="HOST")
    port: int = Field(3978, alias="PORT", ge=1, le=65535)
    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    playbook_path: Path | None = Field(None, alias="PLAYBOOK_PATH")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    # The language every message is in: a catalogue in bot/locale (docs/translating.md).
    bot_language: str = Field(i18n.SOURCE_LANGUAGE, alias="BOT_LANGUAGE")
    public_url: str | None = Field(None, alias="PUBLIC_URL")
    # Scheduling.
    tick_seconds: float = Field(20.0, alias="TICK_SECONDS", gt=0, le=3600)
    missed_round_grace_hours: float = Field(6.0, alias="MISSED_ROUND_GRACE_HOURS", ge=0)
    scheduler_enabled: bool = Field(True, alias="SCHEDULER_ENABLED")
    # Delivery.
    outbox_poll_seconds: float = Field(1.0, alias="OUTBOX_POLL_SECONDS", gt=0, le=60)
    outbox_max_attempts: int = Field(8, alias="OUTBOX_MAX_ATTEMPTS", ge=1, le=100)
    # Slack asks for about one message per second per channel; Teams throttles bursts too.
    outbox_destination_interval: float = Field(
        1.0, alias="OUTBOX_DESTINATION_INTERVAL_SECONDS", ge=0, le=60
    )
    # How long a claimed message is reserved for the worker sending it; after a crash it is
    # sent again once this has passed. Longer than the slowest send (Slack's client waits
    # 30 s), or a second replica may send a message that is still on its way.
    outbox_lease_seconds: float = Field(60.0, alias="OUTBOX_LEASE_SECONDS", gt=0, le=3600)
    # Sends in flight at once per replica: a send mostly waits on the platform's answer,
    # so more than the cores; the platforms' own limits are kept by pacing and 429 holds.
    outbox_concurrency: int = Field(16, alias="OUTBOX_CONCURRENCY", ge=1, le=256)
    # The local web console (on unless Slack or Teams credentials are set).
    console_enabled: bool | None = Field(None, alias="CONSOLE_ENABLED")
    # The console has no login: serving it beyond loopback takes this explicit opt-in.
    console_allow_remote: bool = Field(False, alias="CONSOLE_ALLOW_REMOTE")
    # Slack (see README, "Slack set-up").
    slack_bot_token: str | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    # Slack multi-workspace install (OAuth v2): all three, or none.
    slack_client_id: str | None = Field(None, alias="SLACK_CLIENT_ID")
    slack_client_secret: str | None = Field(None, alias="SLACK_CLIENT_SECRET")
    slack_state_secret: str | None = Field(None, alias="SLACK_STATE_SECRET")
    # Microsoft Teams (see README, "Teams set-up").
    microsoft_app_id: str | None = Field(None, alias="MICROSOFT_APP_ID")
    microsoft_app_password: str | None = Field(None, alias="MICROSOFT_APP_PASSWORD")
    microsoft_app_tenant_id: str | None = Field(None, alias="MICROSOFT_APP_TENANT_ID")
    microsoft_app_type: str = Field("MultiTenant", alias="MICROSOFT_APP_TYPE")
    # Serve /api/messages: by default when an app id is set; `true` without one serves it
    # unauthenticated, for Microsoft's local Agents Playground only; `false` never.
    teams_enabled: bool | None = Field(None, alias="TEAMS_ENABLED")
    # Optional summaries by a language model (README, "Listening across the six"): off
    # unless both SUMMARY_URL and SUMMARY_MODEL are set.
    summary_url: str | None = Field(None, alias="SUMMARY_URL")
    summary_model: str | None = Field(None, alias="SUMMARY_MODEL")
    summary_api_key: str | None = Field(None, alias="SUMMARY_API_KEY")
    summary_timeout_seconds: float = Field(15.0, alias="SUMMARY_TIMEOUT_SECONDS", gt=0, le=120)
    # Keys that encrypt the Slack OAuth tokens stored in the database (README, "Data and
    # privacy"; `bot.encryption`): comma-separated Fernet keys, the first encrypts, all
    # decrypt. Without it the tokens are stored in clear.
    secrets_keys: SecretStr | None = Field(None, alias="SECRETS_KEYS")

    @field_validator("secrets_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parse_keys(value.get_secret_value())  # ValueError says which key, never the key
        return value

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The Fernet keys of SECRETS_KEYS, the first one encrypting (none: no encryption)."""
        if self.secrets_keys is None:
            return ()
        return parse_keys(self.secrets_keys.get_secret_value())

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("bot_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        language = i18n.normalise(value)
        known = i18n.available()
        if language not in known:
            raise ValueError(
                f"no translation for this language; available: {', '.join(known)}"
                " (docs/translating.md adds one)"
            )
        return language

    @field_validator("summary_url")
    @classmethod
    def _summary_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (the API's base, e.g. .../v1)")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @property
    def slack_oauth(self) -> bool:
        """Whether Slack is installed per workspace through OAuth (client id and secret set)."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_configured(self) -> bool:
        """Whether Slack credentials are present.

        A bot token (one workspace) or OAuth (many), plus a way for Slack to reach us: the
        signing secret (HTTP) or an app-level token (Socket Mode).
        """
        has_token = bool(self.slack_bot_token) or self.slack_oauth
        return has_token and bool(self.slack_signing_secret or self.slack_app_token)

    @property
    def teams_configured(self) -> bool:
        """Whether to serve Teams: an app id is present, unless TEAMS_ENABLED says otherwise."""
        if self.teams_enabled is not None:
            return self.teams_enabled
        return bool(self.microsoft_app_id)

    @property
    def console_on(self) -> bool:
        """The console runs when asked to, or by default when no chat platform is configured."""
        if self.console_enabled is not None:
            return self.console_enabled
        return not (self.slack_configured or self.teams_configured)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with keyword overrides (used by the CLI and tests).

    The bot speaks `BOT_LANGUAGE` from here on (`bot.i18n.activate`): the language is a
    setting of the process, chosen once, like the rest.

    Raises:
        ConfigError: naming each environment variable whose value is invalid.
    """
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            alias = Settings.model_fields[field].alias if field in Settings.model_fields else field
            secret = {field, alias or field} & _SECRET_VARIABLES
            got = "" if secret else f" (got {err.get('input')!r})"
            lines.append(f"{alias or field}: {err['msg']}{got}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
    _check_slack_oauth(settings)
    i18n.activate(settings.bot_language)
    return settings


# Variables whose value an error message must not repeat.
_SECRET_VARIABLES = frozenset(
    {
        "SECRETS_KEYS",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_CLIENT_SECRET",
        "SLACK_STATE_SECRET",
        "MICROSOFT_APP_PASSWORD",
        "SUMMARY_API_KEY",
    }
)

_OAUTH_VARIABLES = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_STATE_SECRET")


def _check_slack_oauth(settings: Settings) -> None:
    """A half-configured OAuth install would fail later, at the first install; fail now.

    Raises:
        ConfigError: naming the OAuth variables that are missing.
    """
    values = (settings.slack_client_id, settings.slack_client_secret, settings.slack_state_secret)
    missing = [name for name, value in zip(_OAUTH_VARIABLES, values, strict=True) if not value]
    if missing and len(missing) < len(_OAUTH_VARIABLES):
        raise ConfigError(
            "invalid configuration:\n  "
            + ", ".join(missing)
            + ": required with "
            + ", ".join(n for n in _OAUTH_VARIABLES if n not in missing)
            + " (Slack multi-workspace install needs all three; see README)"
        )
    if not missing and not (settings.slack_signing_secret or settings.slack_app_token):
        raise ConfigError(
            "invalid configuration:\n  SLACK_SIGNING_SECRET: required with SLACK_CLIENT_ID "
            "(or SLACK_APP_TOKEN for Socket Mode): Slack events need a way in"
        )
