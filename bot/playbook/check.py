"""`strategy-bot playbook check [FILE]`: validate a playbook before the bot runs it.

Admins edit playbooks by hand; checking one should not need a database, a chat platform
or a running bot. This prints either a one-line summary (so a typo that drops a group or
a question shows up as a wrong count) or every problem with its file and line, and
returns the exit code, so it can run in CI before a deploy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from bot.errors import PlaybookError
from bot.playbook.loader import DEFAULT_PLAYBOOK, load_playbook


def run_check(path: Path | None, out: TextIO) -> int:
    """Validate a playbook file and report the result.

    Args:
        path: the playbook to check; the packaged default playbook when None.
        out: where to write the summary or the problems.

    Returns:
        0 when the playbook is valid, 1 when it has problems.
    """
    target = path if path is not None else DEFAULT_PLAYBOOK
    try:
        playbook = load_playbook(target)
    except PlaybookError as exc:
        for problem in exc.problems:
            print(problem, file=out)
        count = len(exc.problems)
        print(f"{target}: {count} problem{'s' if count != 1 else ''}", file=out)
        return 1
    members = {m.id for group in playbook.groups.values() for m in group.members}
    questions = sum(len(c.questions) for c in playbook.conversations)
    print(
        f"OK: {target}: {len(playbook.conversations)} conversations,"
        f" {len(playbook.groups)} groups, {len(members)} members, {questions} questions",
        file=out,
    )
    return 0
