"""`/strategy export` through Bolt: the file lands in the asker's DM by files_upload_v2.

The real app with Slack mounted, on each database; the fake Slack Web API plays
`files.getUploadURLExternal`, the upload URL and `files.completeUploadExternal`.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from sqlalchemy import select

from bot import messages
from bot.app import RUNTIME, build_app
from bot.flows.export import HEADER
from bot.flows.outbound import FileReply, load_message
from storage import models
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.state import outbox_outcomes
from tests.slack.conftest import CIO, MARIA, SAM, SlackDriver, slack_settings, text_of

WORDS = "Grüße aus Köln 👋 東京の顧客, «R&D»"
CIO_DM = "D" + CIO[1:]


@pytest.fixture
async def slack(fake: FakeSlackApi, playbook_path: Path, db_url: str) -> AsyncIterator[SlackDriver]:
    """The real app with Slack mounted on each database, and one answered round."""
    app: web.Application = build_app(slack_settings(fake, db_url, playbook_path), migrate=False)
    async with TestClient(TestServer(app)) as client:
        driver = SlackDriver(client, fake, app[RUNTIME])
        await driver.open_round()
        for user, says in ((MARIA, WORDS), (SAM, "=1+1")):
            assert (await driver.dm(user, says)).status == 200
        for user in (MARIA, SAM):
            await wait_until(lambda u=user: "hearing" in driver.answers(u))  # type: ignore[misc]
        yield driver


async def wait_until(check: object, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():  # type: ignore[operator]
        assert loop.time() < deadline, "never happened"
        await asyncio.sleep(0.05)


async def answered(slack: SlackDriver, name: str = "export") -> dict[str, object]:
    """The reply to the command sent with `name` (its response_url)."""
    await wait_until(lambda: any(c.path == f"/respond/{name}" for c in slack.fake.calls("respond")))
    (reply,) = [c for c in slack.fake.calls("respond") if c.path == f"/respond/{name}"]
    return reply.body


def file_rows(slack: SlackDriver) -> list[models.OutboxMessage]:
    with slack.runtime.db.transaction() as s:
        return [
            r
            for r in s.scalars(select(models.OutboxMessage).order_by(models.OutboxMessage.id))
            if r.payload.get("kind") == "file"
        ]


async def test_the_cio_gets_an_xlsx_in_their_dm(slack: SlackDriver) -> None:
    assert (await slack.command(CIO, "export social-media xlsx", name="export")).status == 200
    reply = await answered(slack)
    assert "Exporting 1 round of Social Media as xlsx" in text_of(reply)
    assert reply["response_type"] == "ephemeral"  # the notice where it was asked
    (complete,) = await slack.fake.wait_for("files.completeUploadExternal")
    assert complete.body["channel_id"] == CIO_DM  # the file itself in the CIO's DM
    (asked,) = slack.fake.calls("files.getUploadURLExternal")
    assert str(asked.body["filename"]).endswith(".xlsx")
    (shared,) = slack.fake.files_in(CIO_DM)
    assert shared["name"] == asked.body["filename"]
    (message,) = [m for m in slack.fake.posts_to(CIO_DM) if m.get("files")]
    assert message["text"].startswith("*Export: Social Media*")
    data = slack.fake.uploads[shared["id"]]
    assert int(asked.body["length"]) == len(data)
    sheet = load_workbook(io.BytesIO(data))["export"]
    rows = list(sheet.iter_rows())
    assert tuple(c.value for c in rows[0]) == HEADER
    answer = HEADER.index("answer")
    cells = {r[answer].value: r[answer] for r in rows[1:]}
    assert WORDS in cells  # ü, emoji, CJK as typed
    assert cells["=1+1"].data_type == "s"  # no formula runs
    await wait_until(lambda: outbox_outcomes(slack.runtime.db, f"slack:{CIO}")[-1][0] == "sent")
    with slack.runtime.db.transaction() as s:
        actions = [
            (e.actor, e.action, e.detail.get("how"))
            for e in s.scalars(select(models.AuditEntry).order_by(models.AuditEntry.id))
        ]
    assert (f"slack:{CIO}", "export", None) in actions
    assert (f"slack:{CIO}", "export file", "slack upload") in actions


async def test_a_redelivered_file_already_in_the_dm_is_not_uploaded_again(
    slack: SlackDriver,
) -> None:
    await slack.command(CIO, "export all md", name="export")
    await slack.fake.wait_for("files.completeUploadExternal")
    await wait_until(lambda: bool(file_rows(slack)) and file_rows(slack)[0].status == "sent")
    (row,) = file_rows(slack)
    adapter = slack.runtime.adapters["slack"]
    # The worker crashed after the upload and before recording it: the row comes again.
    result = await adapter.send(
        address=row.destination,
        message=load_message(row.payload),
        idempotency_key=row.idempotency_key,
        redelivery=True,
        enqueued_at=row.created_at,
    )
    assert result.status == "sent"
    assert len(slack.fake.calls("files.getUploadURLExternal")) == 1
    assert len(slack.fake.files_in(CIO_DM)) == 1


async def test_an_app_without_files_write_says_so_in_the_dm(slack: SlackDriver) -> None:
    slack.fake.script(
        "files.getUploadURLExternal",
        body={
            "ok": False,
            "error": "missing_scope",
            "needed": "files:write",
            "provided": "chat:write,commands,im:history,im:write",
        },
    )
    await slack.command(CIO, "export social-media", name="export")
    said = await slack.fake.wait_for("chat.postMessage", channel=CIO_DM)
    assert messages.EXPORT_SLACK_NO_SCOPE in [c.body.get("text") for c in said]
    await wait_until(lambda: file_rows(slack)[0].status == "failed")
    assert file_rows(slack)[0].last_error == "missing_scope"  # what admins see in `status`
    assert slack.fake.files_in(CIO_DM) == []


async def test_a_stakeholder_is_refused_and_no_file_is_made(slack: SlackDriver) -> None:
    await slack.command(MARIA, "export all", name="export")
    reply = await answered(slack)
    assert "Only the CIO and admins can use “export”." in text_of(reply)
    await asyncio.sleep(0.5)
    assert slack.fake.calls("files.getUploadURLExternal") == []
    assert file_rows(slack) == []


def test_a_file_reply_round_trips_through_the_outbox_json() -> None:
    from datetime import UTC, datetime

    from bot.flows.outbound import ExportSpec, dump_message

    reply = FileReply(
        token="0" * 32,
        filename="f.csv",
        media_type="text/csv",
        title="Export",
        requested_by="slack:U0CIO",
        requested_at=datetime(2026, 11, 23, tzinfo=UTC),
        expires_at=datetime(2026, 11, 24, tzinfo=UTC),
        export=ExportSpec(target="all", format="csv", round_ids=(1, 2)),
    )
    assert load_message(dump_message(reply)) == reply
