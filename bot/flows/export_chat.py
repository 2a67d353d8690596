"""`export` in chat: the command, the file it offers, and building that file when delivered.

`export <conversation|all> [since <YYYY-MM-DD>] [csv|xlsx|md]` (the CIO and admins) checks
the words, finds the rounds in scope and answers with two messages: a notice where it was
asked ("the file is sent to your own chat") and a `FileReply` to the asker's own chat,
which every platform delivers as a file in its own way (Slack: an upload into the DM;
Teams: a file consent card, then an upload to the person's OneDrive; the console: a
download link). Both go through the outbox like every reply: written in the command's
transaction, delivered at least once, under one idempotency key.

Why the file is built when it is delivered, not when it is asked for (see `FileReply`):
no copy of people's answers is kept outside their tables, so `forget` and the retention
purge reach every export still to be handed out; the outbox row stays small however big
the export; and building streams (`bot.flows.export`) into a spooled temporary file,
memory up to `SPOOL_BYTES`, disk beyond. The rounds are fixed when asked for, the rows are
read when built: an answer edited in between shows as edited.

Every export asked for is audited (`export`, with its format, date and rounds), and so is
every time its file is handed out (`export file`, with the rows, the size and how), since a
console download link can be followed more than once.

Bad words change nothing and say why in one sentence: an unknown conversation (with a
"did you mean"), a date that is not one or is in the future, a word `export` does not
take, an export of nothing. A stakeholder is refused by the command table.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import messages
from bot.errors import UserError
from bot.flows import export
from bot.flows.export_rollups import rollup_rows
from bot.flows.outbound import (
    ExportFormat,
    ExportSpec,
    FileReply,
    Notice,
    OutboundMessage,
)
from bot.flows.turn import Turn
from storage import models
from storage.db import Database

#: How long a file is handed out after it was asked for (a download link, Teams' consent).
FILE_VALID_FOR = timedelta(hours=24)
#: A file being built stays in memory up to this size, then goes on in a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024
#: The pieces a built file is read in (an upload's body, a download's response).
CHUNK_BYTES = 64 * 1024
_FORMAT_NAMES = {"csv": "CSV", "xlsx": "xlsx", "md": "Markdown"}


def export_command(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`export <conversation|all> [since <date>] [csv|xlsx|md]`: a file of the rounds in scope.

    Raises:
        UserError: unknown conversation, bad or future date, a word it does not take, or
            nothing to export (nothing is changed, no file is made).
    """
    words = list(args)
    target_word = words.pop(0)
    day: date | None = None
    fmt: ExportFormat | None = None
    while words:
        word = words.pop(0)
        lowered = word.lower()
        if lowered == "since" and day is None:
            if not words:
                raise UserError(messages.EXPORT_SINCE_NEEDS_DATE)
            day = _since(turn, words.pop(0))
        elif lowered in export.FORMATS and fmt is None:
            fmt = cast(ExportFormat, lowered)
        else:
            raise UserError(messages.export_words(word))
    fmt = fmt or "csv"
    if target_word.lower() == "all":
        target, what, keys = "all", messages.EXPORT_ALL, None
    else:
        conv = _conversation(turn, target_word)
        target, what, keys = conv.key, conv.title, [conv.key]
    start = datetime.combine(day, time(0, 0), tzinfo=UTC) if day is not None else None
    found = export.rounds_to_export(turn.session, keys, start)
    since = day.isoformat() if day is not None else None
    if not found:
        raise UserError(messages.export_nothing(what, since))
    turn.audit(actor, "export", target, format=fmt, since=since or "all time", rounds=len(found))
    token = secrets.token_hex(16)
    name = _FORMAT_NAMES[fmt]
    reply = FileReply(
        token=token,
        filename=filename(target, fmt, turn.now, day, token),
        media_type=export.MEDIA_TYPES[fmt],
        title=messages.export_title(what),
        lines=(
            messages.export_scope(what, len(found), name, since),
            messages.export_contents(_any_anonymous(turn.session, {c for _, c in found})),
        ),
        requested_by=actor,
        requested_at=turn.now,
        expires_at=turn.now + FILE_VALID_FOR,
        export=ExportSpec(
            target=target, format=fmt, since=day, round_ids=tuple(r for r, _ in found)
        ),
    )
    notice = Notice(level="success", lines=(messages.export_on_its_way(what, len(found), name),))
    return [notice, reply]


def filename(target: str, fmt: str, now: datetime, since: date | None, token: str) -> str:
    """`strategy-bot-social-media-2026-11-05-since-2026-09-01-3f9a1c.xlsx`.

    The token's first six characters make it unique, so a platform (Slack) can tell an
    export's file from another one of the same day in the chat's history.
    """
    parts = ["strategy-bot", target, f"{now:%Y-%m-%d}"]
    if since is not None:
        parts += ["since", since.isoformat()]
    parts.append(token[:6])
    return "-".join(parts) + "." + fmt


def consent_text(reply: FileReply) -> str:
    """What a consent to save the file says (Teams): what it holds, then the choice."""
    return messages.export_consent(reply.lines[0] if reply.lines else reply.title)


def _since(turn: Turn, value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UserError(messages.bad_date(value)) from None
    if day > turn.now.astimezone(UTC).date():
        raise UserError(messages.export_future_date(day.isoformat()))
    return day


def _conversation(turn: Turn, word: str) -> models.Conversation:
    """A conversation by key, also one no longer in the playbook (its history is kept)."""
    conv = turn.session.scalar(
        select(models.Conversation).where(models.Conversation.key == word.lower())
    )
    return conv if conv is not None else turn.conversation(word)  # raises, with a suggestion


def _any_anonymous(session: Session, conversation_ids: set[int]) -> bool:
    specs: Iterator[dict[str, object] | None] = iter(
        session.scalars(
            select(models.Conversation.spec).where(models.Conversation.id.in_(conversation_ids))
        )
    )
    return any(bool((spec or {}).get("anonymous")) for spec in specs)


# -- building the file (at delivery) -------------------------------------------------------


@dataclass
class BuiltFile:
    """An export's bytes, ready to hand out: read them, then `close` (the temporary file goes).

    `file` is positioned at the start; `size` is its length in bytes and `rows` the table's
    rows (the header not counted).
    """

    file: IO[bytes]
    size: int
    rows: int
    _closed: bool = field(default=False, repr=False)

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The bytes from the start, `size` at a time."""
        self.file.seek(0)
        while chunk := self.file.read(size):
            yield chunk

    def read(self) -> bytes:
        """All the bytes (for a platform client that takes them whole)."""
        self.file.seek(0)
        return self.file.read()

    def close(self) -> None:
        """Drop the bytes (and the temporary file, if it spilled to disk)."""
        if not self._closed:
            self._closed = True
            self.file.close()


def table(session: Session, round_ids: Sequence[int]) -> Iterator[export.Row]:
    """Every row of an export, in order: each round's own rows, then the digest roll-ups.

    The one table the chat export and `strategy-bot export` both write. Confidential
    questions are counts only in both, whoever asked (no `reader`): a file travels beyond
    the bot's audited, one-reader views (`bot.flows.export`, `bot.flows.confidential`).
    """
    yield from export.rows(session, list(round_ids))
    yield from rollup_rows(session, round_ids)


def write_file(session: Session, reply: FileReply, binary: IO[bytes]) -> int:
    """Write a reply's export to a binary stream; how many rows."""
    return export.write(reply.export.format, table(session, reply.export.round_ids), binary)


def build_file(db: Database, reply: FileReply) -> BuiltFile:
    """Build a reply's file now, in a read-only transaction (blocking: run it in a thread)."""
    spool = cast(IO[bytes], tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))  # noqa: SIM115
    try:
        with db.reading() as session:
            rows = write_file(session, reply, spool)
        spool.seek(0, 2)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return BuiltFile(file=spool, size=size, rows=rows)


def offered_file(session: Session, address: str, token: str) -> FileReply | None:
    """The file offered to `address` under `token`, if its message is still in the outbox.

    Only the person it was sent to gets it: the address is part of the look-up.
    """
    payload = session.scalar(
        select(models.OutboxMessage.payload)
        .where(
            models.OutboxMessage.destination == address,
            models.OutboxMessage.payload["kind"].as_string() == "file",
            models.OutboxMessage.payload["token"].as_string() == token,
        )
        .limit(1)
    )
    if payload is None:
        return None
    return FileReply.model_validate(payload)


def record_handed_out(
    session: Session, reply: FileReply, built: BuiltFile, how: str, now: datetime
) -> None:
    """Audit one handing-out of an export's file (an upload, a download)."""
    session.add(
        models.AuditEntry(
            at=now,
            actor=reply.requested_by,
            action="export file",
            target=reply.export.target,
            detail={"rows": built.rows, "bytes": built.size, "how": how, "file": reply.filename},
        )
    )
