"""Bring the database in line with the playbook at start-up.

The playbook owns the agenda, groups and members; the database owns live settings an
admin changed in chat (a cadence override, paused). Syncing never touches those, so a
restart or playbook edit keeps what admins decided. Conversations removed from the
playbook are marked inactive, never deleted: their rounds and answers stay.

Care dates: a conversation's `scheduled_since` is set when the sync first creates it or
brings it back after it had left the playbook (and, by the engine, when an admin resumes it
or changes its cadence). The missed-round catch-up (`bot.scheduling.scheduler`) owes rounds
only for scheduled times from then on, so a new install never opens a round that came due
before it was installed.

Replicas: every replica syncs on start, possibly at the same instant on a fresh database.
The sync reads, then inserts what is missing, so two of them would both insert the same
group and one would fail on the unique key. On PostgreSQL the sync therefore first takes a
transaction-level advisory lock (`SYNC_LOCK`): the second replica waits for the first to
commit, then reads its rows and has nothing left to insert. SQLite needs no such lock: its
transactions take the write lock when they begin (`storage.db`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.playbook.model import Playbook
from storage import models

# PostgreSQL advisory lock held by the playbook sync until its transaction ends (see the
# module docstring). Next to `storage.migrate.MIGRATION_LOCK`, which guards migrations.
SYNC_LOCK = 0x5B070002


def sync_playbook(session: Session, playbook: Playbook, *, now: datetime) -> None:
    """Upsert groups, members, memberships and conversations from the playbook.

    Memberships come in two kinds (`GroupMember.source`): the playbook's listed members
    (source None), which this function owns, and those a directory refresh added
    (`bot.flows.directory`: people read from a source, the chat user an `email:` address
    resolved to). Those are kept as long as the playbook still names their source or
    address in that group, so a restart does not forget who was read from Slack; they are
    dropped when it no longer does.

    Args:
        session: The transaction to sync in; call this first in it, before any read, so
            that on PostgreSQL the advisory lock is held before anything is read.
        playbook: The loaded playbook.
        now: The current time: the care date (`Conversation.scheduled_since`) of a
            conversation created or brought back by this sync.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK})
    groups = {g.key: g for g in session.scalars(select(models.Group))}
    for key, spec in playbook.groups.items():
        group = groups.get(key)
        if group is None:
            group = models.Group(key=key, title=spec.title)
            session.add(group)
            groups[key] = group
        group.title = spec.title
    session.flush()

    members = {m.identity: m for m in session.scalars(select(models.Member))}
    listed: list[tuple[int, models.Member]] = []  # (group id, member) the playbook lists
    allowed_sources: dict[int, set[str]] = {}  # group id -> sources and addresses it names
    for key, spec in playbook.groups.items():
        group_id = groups[key].id
        allowed_sources[group_id] = set(spec.sources)
        for person in spec.members:
            member = members.get(person.id)
            if member is None:
                member = models.Member(identity=person.id, display_name=person.name or person.id)
                session.add(member)
                members[person.id] = member
            if person.name:
                member.display_name = person.name
            if person.timezone or member.directory_checked_at is None:
                # The playbook's zone wins; without one, keep what the directory found.
                member.timezone = person.timezone
            listed.append((group_id, member))
            if person.id.startswith("email:"):
                allowed_sources[group_id].add(person.id)
    session.flush()  # once, not per person: the new members' ids, in batched inserts
    wanted = {(group_id, member.id) for group_id, member in listed}
    existing = {
        (gm.group_id, gm.member_id): gm for gm in session.scalars(select(models.GroupMember))
    }
    resolved = {(gm.group_id, gm.source) for gm in existing.values() if gm.source}
    by_id = {m.id: m for m in members.values()}
    for pair, link in existing.items():
        if pair in wanted:
            link.source = None  # listed now: the playbook holds it
        elif link.source is None or link.source not in allowed_sources.get(pair[0], set()):
            session.delete(link)
    for group_id, member_id in wanted - set(existing):
        identity = by_id[member_id].identity
        if (group_id, identity) in resolved:
            continue  # an address already resolved to a chat user in this group
        session.add(models.GroupMember(group_id=group_id, member_id=member_id))

    convs = {c.key: c for c in session.scalars(select(models.Conversation))}
    for conv_spec in playbook.conversations:
        conv = convs.get(conv_spec.key)
        if conv is None:
            conv = models.Conversation(key=conv_spec.key, paused=False, scheduled_since=now)
            session.add(conv)
        elif not conv.active or conv.scheduled_since is None:
            conv.scheduled_since = now  # back in the playbook: owed rounds start again now
        conv.title = conv_spec.title
        conv.spec = conv_spec.model_dump(mode="json")
        conv.cadence = conv_spec.cadence
        conv.active = True
    for key, existing_conv in convs.items():
        if playbook.conversation(key) is None:
            existing_conv.active = False
    session.flush()
