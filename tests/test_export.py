"""`strategy-bot export` as an operator runs it: a real subprocess on each database."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from bot.flows.export import HEADER, neutralise
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness
from tests.test_cli import run

ADMIN = "console:admin"
FORMULA = '=HYPERLINK("http://evil.example","click")'
UNICODE = "Grüße aus Köln 👋 שלום, 東京の顧客, «quoted», line\nbreak"


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock)  # `db` is disposed by its fixture; `db_url` is its URL


def answered(bot: EngineHarness, sam_says: str = FORMULA) -> None:
    bot.command(ADMIN, "ask social-media")
    bot.command(ADMIN, "ask social-liability")
    round_ids = {}
    with bot.db.transaction() as s:
        from sqlalchemy import select

        from storage import models

        for rid, key in s.execute(
            select(models.Round.id, models.Conversation.key).join(models.Conversation)
        ):
            round_ids[key] = rid
    media = round_ids["social-media"]
    bot.submit("console:maria", media, {"hearing": UNICODE, "external": 4, "channel": "Blogs"})
    bot.submit("console:sam", media, {"hearing": sam_says, "external": 2, "channel": "Blogs"})
    bot.say("console:lee", "-1 is our risk score, @legal knows")


def export(db_url: str, *args: str) -> tuple[int, str, str]:
    result = run("export", *args, env={"DATABASE_URL": db_url})
    return result.returncode, result.stdout, result.stderr


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no UTF-8 byte-order mark: Excel would misread it"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_csv_round_trips_unicode_and_runs_no_formula(
    bot: EngineHarness, db_url: str, tmp_path: Path
) -> None:
    answered(bot)
    out = tmp_path / "all.csv"
    code, _, err = export(db_url, "all", "--out", str(out))
    assert code == 0, err
    assert "wrote" in err
    table = read_csv(out)
    assert tuple(table[0]) == HEADER
    hearing = {r["person"]: r["answer"] for r in table if r["question"].startswith("What are")}
    assert hearing["Maria (Marketing)"] == UNICODE
    assert hearing["Sam (Sales)"] == "'" + FORMULA  # shown as text, never run
    records = {r["record"] for r in table}
    assert records == {"round", "participation", "answer", "rollup"}
    rollups = {
        r["question"]: r["answer"]
        for r in table
        if r["record"] == "rollup" and r["conversation"] == "social-media"
    }  # the closed round's digest, as the CIO read it
    assert rollups["How mature is our customer-facing social work?"] == (
        "mean 3.0 of 5; ratings 1: 0, 2: 1, 3: 0, 4: 1, 5: 0; 2 answered, 0 skipped"
    )
    assert rollups["Which channel matters most?"].startswith("Blogs: 2, Twitter: 0")
    assert rollups["What are you hearing from customers?"] == "2 answered, 0 skipped"
    part = next(
        r for r in table if r["record"] == "participation" and r["conversation"] == "social-media"
    )
    assert (part["group"], part["invited"], part["finished"]) == ("marketing", "2", "2")
    for row in table:  # no cell of any row starts a formula
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())


def test_anonymous_answers_have_no_author_and_no_time(
    bot: EngineHarness, db_url: str, tmp_path: Path
) -> None:
    answered(bot)
    out = tmp_path / "liability.csv"
    code, _, err = export(db_url, "social-liability", "--out", str(out))
    assert code == 0, err
    table = read_csv(out)
    (answer,) = [r for r in table if r["record"] == "answer"]
    assert answer["answer"] == "'-1 is our risk score, @legal knows"
    assert answer["person"] == "" and answer["answered_at"] == ""
    assert "Lee" not in out.read_text(encoding="utf-8-sig")


def test_xlsx_opens_with_the_right_characters_and_runs_no_formula(
    bot: EngineHarness, db_url: str, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    answered(bot, sam_says="=1+1")
    out = tmp_path / "all.xlsx"
    code, _, err = export(db_url, "all", "--format", "xlsx", "--out", str(out))
    assert code == 0, err
    with zipfile.ZipFile(out) as package:  # a real xlsx package, and no formula in it
        assert "xl/workbook.xml" in package.namelist()
        sheet_xml = package.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    book = load_workbook(out)
    sheet = book["export"]
    table = list(sheet.iter_rows(values_only=True))
    assert table[0] == HEADER
    column = {name: index for index, name in enumerate(HEADER)}
    cells = {r[column["person"]]: r for r in table[1:] if r[column["record"]] == "answer"}
    hearing = {
        row[column["person"]]: sheet.cell(row=n + 1, column=column["answer"] + 1)
        for n, row in enumerate(table)
        if n and row[column["question"]] and str(row[column["question"]]).startswith("What are")
    }
    assert hearing["Maria (Marketing)"].value == UNICODE  # ü, emoji, Hebrew, CJK, a line break
    formula = hearing["Sam (Sales)"]
    assert formula.value == "=1+1" and formula.data_type == "s"  # text, as typed: never run
    assert formula.quotePrefix  # and Excel keeps it text when the cell is edited
    assert cells  # every answer row is there
    part = next(r for r in table if r[column["record"]] == "participation")
    assert isinstance(part[column["invited"]], int)  # counts are numbers, so they sum


def test_markdown_to_stdout_escapes_the_table(bot: EngineHarness, db_url: str) -> None:
    answered(bot)
    code, shown, err = export(db_url, "social-media", "--format", "md", "--since", "2026-11-01")
    assert code == 0, err
    assert shown.startswith("| record | conversation | round |")
    assert "line<br>break" in shown and "Grüße aus Köln 👋" in shown


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("all", "--since", "2026-13-01"), 2, "is not a date; write it as YYYY-MM-DD"),
        (("all", "--since", "2999-01-01"), 2, "is in the future"),
        (("all", "--format", "pdf"), 2, "invalid choice: 'pdf'"),
        (("social-medai",), 2, "there is no conversation 'social-medai'; known:"),
        (("social-liability",), 1, "nothing to export: no round of social-liability"),
    ],
)
def test_bad_words_get_one_clear_line_and_no_file(
    bot: EngineHarness, db_url: str, tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    out = tmp_path / "x.csv"
    got, _, err = export(db_url, *args, "--out", str(out))
    assert got == code and says in err, err
    assert not out.exists()


def test_neutralise() -> None:
    assert [neutralise(c) for c in ("=1+1", "+1", "-1", "@x", "\tx", "\rx", "ok", "")] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@x",
        "'\tx",
        "'\rx",
        "ok",
        "",
    ]
