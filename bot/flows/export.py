"""Export for operators (`strategy-bot export`): rounds, participation and answers as a table.

Why these choices:

- **One table, a `record` column** (`round`, `participation`, `answer`, and `rollup`: a
  closed round's digest figures per question, from `bot.flows.export_rollups`), so a
  spreadsheet opens one sheet that filters by kind, and a CSV stays one CSV.
- **CSV that spreadsheets open right**: UTF-8 with a byte-order mark (Excel otherwise reads
  it as the local code page and "ü" becomes "Ã¼"), and every cell that starts with `=`,
  `+`, `-`, `@`, a tab or a carriage return prefixed with `'`, so nobody's answer can be
  run as a formula (OWASP's "CSV injection").
- **Anonymous conversations name nobody**: answer rows have no person and no time (times
  would tie a person's answers together), and they are sorted by question and answer,
  not as given, so one person's answers are not neighbours. Participation is counted per
  group, never listed by name, in every conversation; in an anonymous round with a group
  smaller than `min_group_size`, groups are pooled (one participation row, answers
  without a group), as in its digest.
- **Confidential questions** (`bot.flows.confidential`) are one row each, "N answers,
  confidential", with no person, time or answer, unless the export is for a reader who
  holds one of their roles (`reader`). The operator's `strategy-bot export` holds none:
  an export is a file that travels (mail, shared drives, spreadsheets) beyond the bot's
  own audited, one-reader-at-a-time views, so it never carries them by default; an
  operator who must have them reads the database, which is theirs anyway.
- **Streams**: rounds are read one at a time and answers a chunk at a time
  (`yield_per`), and each row is written as it comes, so memory stays bounded by one
  round whatever the size of the history (an anonymous round is sorted whole).
- **Three formats, one neutralisation** (`write`): CSV (UTF-8 with BOM, `'` before a
  formula character), Markdown (one table, for a wiki or an e-mail) and xlsx. An xlsx cell
  has a type, so every text cell is written as a string (`inlineStr`), which no spreadsheet
  evaluates: the answer is kept exactly as typed, without the CSV's visible apostrophe,
  and a text that starts with a formula character also gets Excel's "quote prefix" flag,
  so editing the cell and pressing Enter keeps it text. The counts (`round`, `invited`,
  `finished`, `skipped`) are numbers there, so they sum. openpyxl's write-only workbook
  writes each row to a temporary file as it comes (memory stays flat); what XML cannot
  hold (control characters) is dropped, a text longer than a cell's 32,767 characters is
  cut with "…", and past a sheet's 1,048,576 rows the table goes on in a second sheet
  with the header again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from typing import IO, Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import messages
from bot.flows import rounds
from bot.flows.answers import display_value
from bot.flows.confidential import secrets_of
from bot.flows.digest import POOLED, pooled_groups
from bot.playbook.model import Question
from storage import models

FORMATS = ("csv", "xlsx", "md")
#: Each format's media type (a download's Content-Type, Slack's and Teams' file type).
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
}
_CHUNK = 500
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Row:
    """One line of the export (columns in this order; empty where they do not apply)."""

    record: str
    conversation: str
    round: str
    opened_at: str = ""
    closed_at: str = ""
    group: str = ""
    person: str = ""
    question: str = ""
    answer: str = ""
    answered_at: str = ""
    invited: str = ""
    finished: str = ""
    skipped: str = ""


HEADER = tuple(f.name for f in fields(Row))
# A row's cells in column order: `dataclasses.astuple` copies every value recursively,
# which costs more than writing the row.
_cells = attrgetter(*HEADER)


def _at(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character gets a `'`."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def rounds_to_export(
    session: Session, keys: list[str] | None, since: datetime | None
) -> list[tuple[int, int]]:
    """(round id, conversation id) of the opened rounds in scope, oldest first."""
    query = (
        select(models.Round.id, models.Round.conversation_id)
        .join(models.Conversation)
        .where(models.Round.status.in_(("open", "closed")))
        .order_by(models.Conversation.id, models.Round.number)
    )
    if keys is not None:
        query = query.where(models.Conversation.key.in_(keys))
    if since is not None:
        query = query.where(models.Round.opened_at >= since)
    return [(r, c) for r, c in session.execute(query).all()]


def rows(
    session: Session, round_ids: Iterable[int], *, reader: frozenset[str] = frozenset()
) -> Iterator[Row]:
    """The export's rows, round by round (see the module docstring).

    Args:
        session: an open session; only read from.
        round_ids: the rounds, in the order to export them.
        reader: the roles of whoever the export is for: the confidential answers of these
            roles are exported as given; every other confidential question is one row of
            counts. Empty (the operator's export): none.
    """
    for round_id in round_ids:
        round_ = session.get(models.Round, round_id)
        if round_ is None:
            continue
        yield from _round_rows(session, round_, reader)
        session.expunge_all()  # what was read for this round is not needed again


def _round_rows(session: Session, round_: models.Round, reader: frozenset[str]) -> Iterator[Row]:
    agenda = rounds.agenda_of(round_)
    conv = round_.conversation
    withheld = {
        qid for qid, roles in secrets_of(conv.spec, round_.agenda).items() if not roles & reader
    }
    anonymous = agenda.anonymous or bool((conv.spec or {}).get("anonymous"))
    base = {"conversation": conv.key, "round": str(round_.number)}
    yield Row(
        record="round",
        opened_at=_at(round_.opened_at),
        closed_at=_at(round_.closed_at),
        **base,
    )
    counts = session.execute(
        select(models.Participant.group_key, models.Participant.status, func.count())
        .where(models.Participant.round_id == round_.id)
        .group_by(models.Participant.group_key, models.Participant.status)
        .order_by(models.Participant.group_key)
    ).all()
    groups: dict[str, dict[str, int]] = {}
    for group, status, count in counts:
        groups.setdefault(group, {})[status] = count
    sizes = [g for g, by_status in groups.items() for _ in range(sum(by_status.values()))]
    pooled = anonymous and pooled_groups(round_, sizes)
    if pooled:  # a group too small to show apart (`min_group_size`): one row for all
        merged: dict[str, int] = {}
        for by_status in groups.values():
            for status, count in by_status.items():
                merged[status] = merged.get(status, 0) + count
        groups = {POOLED: merged}
    for group, by_status in groups.items():
        yield Row(
            record="participation",
            group=group,
            invited=str(sum(by_status.values())),
            finished=str(by_status.get("done", 0)),
            skipped=str(by_status.get("skipped", 0)),
            **base,
        )
    questions = {q.id: q for q in agenda.questions}
    order = {q.id: i for i, q in enumerate(agenda.questions)}
    query = (
        select(models.Answer, models.Participant.group_key, models.Member.display_name)
        .join(models.Participant, models.Answer.participant_id == models.Participant.id)
        .join(models.Member, models.Participant.member_id == models.Member.id)
        .where(models.Participant.round_id == round_.id)
        .order_by(models.Answer.id)
        .execution_options(yield_per=_CHUNK)
    )
    answered = dict.fromkeys(sorted(withheld, key=lambda q: order.get(q, len(order))), 0)

    def kept(found: Iterable[Any]) -> Iterator[Any]:
        for answer, group, name in found:
            if answer.question_id not in withheld:
                yield answer, group, name
            elif not answer.skipped:
                answered[answer.question_id] += 1

    results = kept(session.execute(query))
    if not anonymous:
        for answer, group, name in results:
            yield _answer_row(base, questions, answer, group, name)
        yield from _confidential_rows(base, questions, answered)
        return
    # Sorted so that neither order nor time ties one person's answers together.
    mixed = [
        (
            order.get(answer.question_id, len(order)),
            _answer_row(base, questions, answer, "" if pooled else group),
        )
        for answer, group, _name in results
    ]
    mixed.sort(key=lambda item: (item[0], item[1].group, item[1].answer))
    yield from (row for _, row in mixed)
    yield from _confidential_rows(base, questions, answered)


def _confidential_rows(
    base: dict[str, str], questions: dict[str, Question], counts: dict[str, int]
) -> Iterator[Row]:
    """One row per withheld confidential question: how many answered, nothing else."""
    for qid, count in counts.items():
        question = questions.get(qid)
        yield Row(
            record="answer",
            question=question.text if question is not None else qid,
            answer=messages.confidential_answers(count),
            **base,
        )


def _answer_row(
    base: dict[str, str],
    questions: dict[str, Question],
    answer: models.Answer,
    group: str,
    name: str | None = None,
) -> Row:
    question = questions.get(answer.question_id)
    text = question.text if question is not None else answer.question_id
    if answer.skipped:
        shown = messages.SKIPPED
    elif question is None:
        shown = str(answer.value)
    else:
        shown = display_value(question, answer.value)
    return Row(
        record="answer",
        group=group,
        person=name or "",
        question=text,
        answer=shown,
        answered_at="" if name is None else _at(answer.answered_at),
        **base,
    )


def write_csv(lines: Iterable[Row], stream: TextIO) -> int:
    """Write rows as CSV (the stream should be UTF-8 with BOM); how many rows."""
    writer = csv.writer(stream)
    writer.writerow(HEADER)
    count = 0
    for row in lines:
        writer.writerow([neutralise(cell) for cell in _cells(row)])
        count += 1
    return count


def _md_cell(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


def write_md(lines: Iterable[Row], stream: TextIO) -> int:
    """Write rows as one Markdown table; how many rows."""
    stream.write("| " + " | ".join(HEADER) + " |\n")
    stream.write("|" + "---|" * len(HEADER) + "\n")
    count = 0
    for row in lines:
        stream.write("| " + " | ".join(_md_cell(c) for c in _cells(row)) + " |\n")
        count += 1
    return count


# -- xlsx ------------------------------------------------------------------------------

#: What one cell and one sheet hold (Excel's limits; beyond them it calls the file broken).
XLSX_CELL_CHARS = 32_767
XLSX_SHEET_ROWS = 1_048_576
XLSX_SHEET = "export"
# What XML 1.0 cannot hold (openpyxl refuses a cell with one): C0 controls but tab and
# newlines.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NUMBER_COLUMNS = frozenset({"round", "invited", "finished", "skipped"})
_WIDTHS = {"question": 48, "answer": 60, "person": 24, "conversation": 20}


def _xlsx_text(cell: str) -> str:
    cleaned = _ILLEGAL_XML.sub("", cell)
    if len(cleaned) > XLSX_CELL_CHARS:
        cleaned = cleaned[: XLSX_CELL_CHARS - 1] + "…"
    return cleaned


def write_xlsx(lines: Iterable[Row], stream: IO[bytes]) -> int:
    """Write rows as an xlsx workbook (see the module docstring); how many rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def new_sheet(number: int) -> Any:
        sheet: Any = book.create_sheet(XLSX_SHEET if number == 1 else f"{XLSX_SHEET} ({number})")
        for index, name in enumerate(HEADER, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(name, 14)
        sheet.freeze_panes = "A2"
        header = []
        for name in HEADER:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        return sheet

    def cell_of(sheet: Any, name: str, value: str) -> object:
        if not value:
            return None
        if name in _NUMBER_COLUMNS and value.isdigit():
            return int(value)
        text = _xlsx_text(value)
        if not value.startswith(_FORMULA_START):
            return text  # openpyxl writes a plain string as a string cell
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"  # text, whatever it starts with: never a formula
        cell.quotePrefix = True
        return cell

    sheets = 1
    sheet = new_sheet(sheets)
    in_sheet = 1
    count = 0
    for row in lines:
        if in_sheet >= XLSX_SHEET_ROWS:
            sheets += 1
            sheet = new_sheet(sheets)
            in_sheet = 1
        sheet.append([cell_of(sheet, n, v) for n, v in zip(HEADER, _cells(row), strict=True)])
        in_sheet += 1
        count += 1
    book.save(stream)
    return count


def write(fmt: str, lines: Iterable[Row], binary: IO[bytes]) -> int:
    """Write rows in a format (`FORMATS`) to a binary stream; how many rows.

    CSV is UTF-8 with a byte-order mark (Excel then reads it as UTF-8), Markdown plain
    UTF-8; the stream is flushed and left open.

    Raises:
        ValueError: a format not in `FORMATS`.
    """
    if fmt == "xlsx":
        return write_xlsx(lines, binary)
    if fmt not in ("csv", "md"):
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    text = io.TextIOWrapper(binary, encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
    try:
        return (write_csv if fmt == "csv" else write_md)(lines, text)
    finally:
        text.flush()
        text.detach()
