"""Bring the database in line with the playbook at start-up.

The playbook owns the agenda, groups and members; the database owns live settings an
admin changed in chat (a cadence override, paused). Syncing never touches those, so a
restart or playbook edit keeps what admins decided. Conversations removed from the
playbook are marked inactive, never deleted: their rounds and answers stay.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.playbook.model import Playbook
from storage import models


def sync_playbook(session: Session, playbook: Playbook) -> None:
    """Upsert groups, members, memberships and conversations from the playbook."""
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
    wanted: set[tuple[int, int]] = set()
    for key, spec in playbook.groups.items():
        for person in spec.members:
            member = members.get(person.id)
            if member is None:
                member = models.Member(identity=person.id, display_name=person.name)
                session.add(member)
                members[person.id] = member
            member.display_name = person.name
            member.timezone = person.timezone
            session.flush()
            wanted.add((groups[key].id, member.id))
    existing = {
        (gm.group_id, gm.member_id): gm for gm in session.scalars(select(models.GroupMember))
    }
    for pair, link in existing.items():
        if pair not in wanted:
            session.delete(link)
    for group_id, member_id in wanted - set(existing):
        session.add(models.GroupMember(group_id=group_id, member_id=member_id))

    convs = {c.key: c for c in session.scalars(select(models.Conversation))}
    for conv_spec in playbook.conversations:
        conv = convs.get(conv_spec.key)
        if conv is None:
            conv = models.Conversation(key=conv_spec.key, paused=False)
            session.add(conv)
        conv.title = conv_spec.title
        conv.spec = conv_spec.model_dump(mode="json")
        conv.cadence = conv_spec.cadence
        conv.active = True
    for key, existing_conv in convs.items():
        if playbook.conversation(key) is None:
            existing_conv.active = False
    session.flush()
