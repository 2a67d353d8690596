"""`export` in Teams through botbuilder: a file consent card, consent, OneDrive, a file card.

The real app with Teams mounted on each database; the Bot Connector and the OneDrive
upload session Teams hands out are fakes on loopback (`tests/fakes`).
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from sqlalchemy import select

from bot import messages
from bot.adapters.teams import files
from bot.app import RUNTIME
from bot.flows.export import HEADER
from bot.flows.export_chat import BuiltFile
from storage import models
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.onedrive import FakeOneDrive
from tests.teams.conftest import (
    ADMIN,
    CIO,
    CIO_CHANNEL,
    MARIA,
    SAM,
    TeamsDriver,
    address,
    chat,
    make_app,
)

WORDS = "Grüße aus Köln 👋 東京の顧客"


@pytest.fixture
async def onedrive() -> AsyncIterator[FakeOneDrive]:
    drive = FakeOneDrive()
    await drive.start()
    yield drive
    await drive.stop()


@pytest.fixture
async def teams(
    fake: FakeBotConnector, playbook_path: Path, db_url: str, tmp_path: Path
) -> AsyncIterator[TeamsDriver]:
    """The real app with Teams mounted on each database; one round answered."""
    app = make_app(tmp_path, playbook_path, Path(), database_url=db_url, MICROSOFT_APP_ID=None)
    runtime = app[RUNTIME]
    async with TestClient(TestServer(app)) as client:
        driver = TeamsDriver(client, fake, runtime)
        await driver.join(MARIA, SAM, CIO, ADMIN)
        assert (await driver.say(ADMIN, "ask social-media")).status == 200
        for user, says in ((MARIA, WORDS), (SAM, "=1+1")):
            await fake.wait_for("send", conversation=chat(user))
            assert (await driver.say(user, says)).status == 200
        for user in (MARIA, SAM):
            for _ in range(200):
                if "hearing" in driver.answers(user):
                    break
                await asyncio.sleep(0.05)
        fake.forget()
        yield driver


def consent_cards(fake: FakeBotConnector, user: str) -> list[dict[str, Any]]:
    return [
        a
        for r in fake.calls("send", chat(user))
        for a in r.body.get("attachments") or []
        if a.get("contentType") == files.CONSENT_CARD
    ]


async def offered(teams: TeamsDriver, user: str) -> dict[str, Any]:
    for _ in range(200):
        found = consent_cards(teams.fake, user)
        if found:
            (card,) = found
            return card
        await asyncio.sleep(0.05)
    raise AssertionError(f"no consent card for {user}: {teams.fake.requests}")


def notices(fake: FakeBotConnector, user: str) -> str:
    return "\n".join(str(r.cards) for r in fake.calls("send", chat(user)))


async def consent(
    teams: TeamsDriver, user: str, card: dict[str, Any], action: str, upload_url: str = ""
) -> None:
    name = card["name"]
    value: dict[str, Any] = {"type": "fileUpload", "action": action}
    if action == "accept":
        value["context"] = card["content"]["acceptContext"]
        value["uploadInfo"] = {
            "contentUrl": f"https://contoso-my.sharepoint.com/personal/{user}/Documents/{name}",
            "name": name,
            "uploadUrl": upload_url,
            "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C8A",
            "fileType": name.rsplit(".", 1)[-1],
            "etag": "c26ce4e9-7e8f-4b4f-b1fc-c7d5a8ac0a2d",
        }
    else:
        value["context"] = card["content"]["declineContext"]
    body = teams.activity("invoke", user, name="fileConsent/invoke", value=value)
    response = await teams.post(body)
    assert response.status == 200, await response.text()


async def info_card(teams: TeamsDriver, user: str) -> dict[str, Any]:
    for _ in range(200):
        shown = [
            a
            for r in teams.fake.calls("send", chat(user))
            for a in r.body.get("attachments") or []
            if a.get("contentType") == files.INFO_CARD
        ]
        if shown:
            (card,) = shown
            return card
        await asyncio.sleep(0.05)
    raise AssertionError(f"no file info card for {user}")


async def wait_for_notice(teams: TeamsDriver, user: str, text: str) -> None:
    for _ in range(200):
        if text in notices(teams.fake, user):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never said to {user}: {notices(teams.fake, user)}")


def audit(teams: TeamsDriver) -> list[tuple[str, str, str | None]]:
    with teams.runtime.db.transaction() as s:
        return [
            (e.actor, e.action, e.detail.get("how"))
            for e in s.scalars(select(models.AuditEntry).order_by(models.AuditEntry.id))
        ]


async def test_the_cio_accepts_and_the_xlsx_lands_in_their_onedrive(
    teams: TeamsDriver, onedrive: FakeOneDrive
) -> None:
    assert (await teams.say(CIO, "export social-media xlsx")).status == 200
    card = await offered(teams, CIO)
    assert card["name"].endswith(".xlsx")
    assert card["content"]["sizeInBytes"] > 0
    assert "Accept to save it to your OneDrive" in card["content"]["description"]
    await wait_for_notice(teams, CIO, "Exporting 1 round of Social Media as xlsx")

    await consent(teams, CIO, card, "accept", onedrive.upload_url(card["name"]))
    info = await info_card(teams, CIO)  # posted once the file is in OneDrive
    data = onedrive.files[card["name"]]
    sheet = load_workbook(io.BytesIO(data))["export"]
    rows = list(sheet.iter_rows())
    assert tuple(c.value for c in rows[0]) == HEADER
    answer = HEADER.index("answer")
    cells = {r[answer].value: r[answer] for r in rows[1:]}
    assert WORDS in cells
    assert cells["=1+1"].data_type == "s"  # text: no formula runs
    assert info["name"] == card["name"] and info["content"]["fileType"] == "xlsx"
    assert info["contentUrl"].endswith("/" + card["name"])
    assert (address(CIO), "export", None) in audit(teams)
    assert (address(CIO), "export file", "teams upload") in audit(teams)


async def test_an_invoke_delivered_twice_uploads_once(
    teams: TeamsDriver, onedrive: FakeOneDrive
) -> None:
    await teams.say(CIO, "export all csv")
    card = await offered(teams, CIO)
    name = card["name"]
    value = {
        "type": "fileUpload",
        "action": "accept",
        "context": card["content"]["acceptContext"],
        "uploadInfo": {
            "contentUrl": f"https://contoso-my.sharepoint.com/personal/cio/Documents/{name}",
            "name": name,
            "uploadUrl": onedrive.upload_url(name),
            "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C8A",
            "fileType": "csv",
        },
    }
    body = teams.activity("invoke", CIO, name="fileConsent/invoke", value=value)
    for _ in range(2):  # Teams retried the invoke
        assert (await teams.post(body)).status == 200
    await info_card(teams, CIO)
    assert onedrive.files[name].startswith(b"\xef\xbb\xbf")  # the CSV, with its BOM
    await asyncio.sleep(0.3)
    assert messages.EXPORT_UPLOAD_FAILED not in notices(teams.fake, CIO)
    assert [a for _, a, _ in audit(teams)].count("export file") == 1


async def test_declining_saves_nothing_and_says_so(
    teams: TeamsDriver, onedrive: FakeOneDrive
) -> None:
    await teams.say(CIO, "export all md")
    card = await offered(teams, CIO)
    await consent(teams, CIO, card, "decline")
    await wait_for_notice(teams, CIO, messages.EXPORT_DECLINED)
    assert onedrive.puts == []
    assert [a for _, a, _ in audit(teams)].count("export file") == 0


async def test_only_the_requester_can_accept_their_file(
    teams: TeamsDriver, onedrive: FakeOneDrive
) -> None:
    await teams.say(CIO, "export all")
    card = await offered(teams, CIO)
    await consent(teams, ADMIN, card, "accept", onedrive.upload_url(card["name"]))
    await wait_for_notice(teams, ADMIN, messages.EXPORT_NO_SUCH_FILE)
    assert onedrive.puts == []


async def test_asked_in_the_channel_the_card_comes_to_the_personal_chat(
    teams: TeamsDriver,
) -> None:
    await teams.join_channel()
    assert (await teams.say(CIO, "export all", channel=CIO_CHANNEL)).status == 200
    await offered(teams, CIO)  # consent only exists in a personal chat
    posted = await teams.fake.wait_for("send", conversation=CIO_CHANNEL)
    assert "the file is sent to your own chat" in str(posted[0].cards)
    assert not any(
        a.get("contentType") == files.CONSENT_CARD
        for r in teams.fake.calls("send", CIO_CHANNEL)
        for a in r.body.get("attachments") or []
    )


async def test_a_failed_upload_says_so(teams: TeamsDriver, onedrive: FakeOneDrive) -> None:
    await teams.say(CIO, "export social-media")
    card = await offered(teams, CIO)
    onedrive.fail(507)  # the drive is full
    await consent(teams, CIO, card, "accept", onedrive.upload_url(card["name"]))
    await wait_for_notice(teams, CIO, messages.EXPORT_UPLOAD_FAILED)
    assert onedrive.files == {}
    assert [a for _, a, _ in audit(teams)].count("export file") == 0


async def test_a_stakeholder_gets_a_sentence_and_no_card(teams: TeamsDriver) -> None:
    await teams.say(MARIA, "export all")
    await wait_for_notice(teams, MARIA, "Only the CIO and admins can use “export”.")
    assert consent_cards(teams.fake, MARIA) == []


async def test_a_big_file_goes_up_in_pieces(onedrive: FakeOneDrive) -> None:
    data = os.urandom(2 * files.UPLOAD_PIECE_BYTES + 12_345)
    spool = io.BytesIO(data)
    built = BuiltFile(file=spool, size=len(data), rows=1)
    await files.upload(onedrive.upload_url("big.csv"), built)
    assert onedrive.files["big.csv"] == data
    assert [p["length"] for p in onedrive.puts] == [
        files.UPLOAD_PIECE_BYTES,
        files.UPLOAD_PIECE_BYTES,
        12_345,
    ]
