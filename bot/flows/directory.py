"""Group membership from chat directories, refreshed right before a round opens.

A playbook group may name sources (`slack:usergroup:S…`, `slack:channel:C…`) besides its
listed members, and may list people by `email:` address. Who that is changes without the
playbook changing, so the membership a round prompts is read from the platform right
before the round opens: `MembershipRefresher.refresh(conversation_key)`, awaited by the
runtime before the admin's `ask` and by the scheduler before a scheduled open. The engine
then opens the round from the database as always; it never calls a platform.

Why it looks like this:

- **Platform-free.** It talks to `bot.adapters.base.Directory` ports, picked by the
  platform named in a source or identity (`slack:…` -> the Slack directory). It fetches
  first (async, concurrently: each directory bounds its own calls) and then writes
  everything in one short transaction, so no transaction waits on the network.
- **The playbook's own members are never touched.** `GroupMember.source` records who put
  each row there: None for listed members (`sync_playbook` owns those), the source for
  people read from it, the `email:` address for the chat user it was resolved to. A
  refresh replaces exactly the rows of the sources (and addresses) it got an answer for.
- **Never lose a round to the directory.** A source that fails (Slack down, 429, a
  missing scope, an unknown channel) keeps the members it had; an address that cannot be
  looked up now keeps its last resolution; the whole fetch is cut off after `timeout`
  seconds. Failures are logged and the round opens with the last known membership.
- **Who is asked.** Bots and deactivated accounts read from a source are left out. An
  `email:` address nobody in the workspace has stays a member with
  `Member.unreachable_reason` set, so `status` lists it instead of it vanishing.
- **Profiles daily-ish, and in the background.** A person's directory profile (time zone,
  and the name when the playbook gives none) is read when it is older than
  `PROFILE_MAX_AGE` (20 hours), at most once per round opening and person. Only people
  the bot has never read are read *before* the round opens (their profile says whether
  they are a bot or deactivated, so whether to ask them at all); a known person's stale
  profile is read again in the background (`MembershipRefresher.background`), so an
  `ask` for 50,000 people known from earlier rounds does not wait for 50,000
  `users.info` calls: the round opens with the profiles it has, and the time zones read
  meanwhile count from the next round on. Twenty hours rather than 24 so that a daily
  cadence refreshes every day although each run starts a little earlier or later than
  the last. Time zones change when people move or travel for long, not hourly, and
  `users.info` is Slack's Tier 4 (100+ calls a minute). A known address is looked up
  again on the same schedule; an address that resolved to nobody is asked again at every
  refresh (people join).
- **What the playbook says wins**: a listed member's `name` and `timezone` are kept over
  the directory's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import messages
from bot.flows.people import Directory, DirectoryError, Person
from bot.playbook.model import Group as GroupSpec
from bot.playbook.model import MemberSpec, Playbook
from storage import models
from storage.db import Database

log = logging.getLogger(__name__)

PROFILE_MAX_AGE = timedelta(hours=20)
REFRESH_TIMEOUT = 30.0  # seconds the directories get before the round opens without them
# Seconds the background profile reads get (Slack's users.info allows about 100 a minute).
PROFILES_LATER_TIMEOUT = 3600.0
# Background reads in flight, kept referenced so the event loop does not drop them.
_BACKGROUND: set[asyncio.Task[None]] = set()
EMAIL = "email:"
NAME_MAX = 80  # the width of `Member.display_name`
REASON_MAX = 200  # the width of `Member.unreachable_reason`


def platform_of(identity_or_source: str) -> str:
    """`slack` for `slack:U…` or `slack:usergroup:S…`."""
    return identity_or_source.partition(":")[0]


@dataclass
class Lookups:
    """What the directories answered during one refresh. A missing key means no answer.

    Attributes:
        sources: source -> the identities in it.
        emails: `email:` identity -> the person with that address, or None for nobody.
        profiles: identity -> the person, or None when the directory has no such user.
        failures: what went wrong, one line each, for the log.
    """

    sources: dict[str, list[str]] = field(default_factory=dict)
    emails: dict[str, Person | None] = field(default_factory=dict)
    profiles: dict[str, Person | None] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    later: list[str] = field(default_factory=list)  # known, stale: read in the background


@dataclass(frozen=True)
class _Known:
    """What the database already knows, so a refresh asks only for what is stale."""

    fresh: frozenset[str]  # identities whose profile (or address lookup) is recent
    checked: frozenset[str]  # identities whose profile was read at least once
    resolved: Mapping[str, str]  # `email:` identity -> the identity it resolved to


class MembershipRefresher:
    """Reads the members of a conversation's groups from the chat directories.

    Args:
        db: the bot's database.
        playbook: the loaded playbook (groups, their members and sources).
        directories: the configured directories by platform (`slack`).
        clock: the current aware UTC time.
        max_age: how old a stored profile may be before it is read again.
        timeout: seconds for all directory calls of one refresh.
    """

    def __init__(
        self,
        db: Database,
        playbook: Playbook,
        directories: Mapping[str, Directory],
        *,
        clock: Callable[[], datetime],
        max_age: timedelta = PROFILE_MAX_AGE,
        timeout: float = REFRESH_TIMEOUT,
    ) -> None:
        self.db = db
        self.playbook = playbook
        self.directories = dict(directories)
        self.clock = clock
        self.max_age = max_age
        self.timeout = timeout
        # Known people's stale profiles, read after `refresh` returned (see the module
        # docstring); None when there were none. Await it to wait for them (tests).
        self.background: asyncio.Task[None] | None = None

    async def refresh(self, conversation_key: str) -> Lookups | None:
        """Bring the membership of a conversation's groups up to date. Never raises.

        Returns:
            What the directories answered (None when there was nothing to ask or the
            refresh itself failed, which is logged).
        """
        try:
            return await self._refresh(conversation_key)
        except Exception:
            log.exception(
                "membership refresh for %s failed; the round opens with the last known members",
                conversation_key,
            )
            return None

    async def _refresh(self, conversation_key: str) -> Lookups | None:
        conv = self.playbook.conversation(conversation_key)
        if conv is None:
            return None
        groups = {key: self.playbook.groups[key] for key in conv.groups}
        if not any(self._wants_directory(g) for g in groups.values()):
            return None
        now = self.clock()
        known = await asyncio.to_thread(self._known, now)
        lookups = Lookups()
        try:
            async with asyncio.timeout(self.timeout):
                await self._look_up(groups, known, lookups)
        except TimeoutError:
            lookups.failures.append(f"the directories did not finish within {self.timeout:g}s")
        if lookups.failures:
            log.warning(
                "membership refresh for %s: %s; the groups keep their last known members"
                " where no answer came",
                conversation_key,
                "; ".join(lookups.failures),
            )
        try:
            await asyncio.to_thread(self._apply, groups, lookups, now)
        except IntegrityError:  # another replica refreshed the same group at this moment
            log.info("membership of %s was refreshed concurrently elsewhere", conversation_key)
        if lookups.later:
            self.background = asyncio.create_task(self._profiles_later(lookups.later, now))
            _BACKGROUND.add(self.background)
            self.background.add_done_callback(_BACKGROUND.discard)
        return lookups

    async def _profiles_later(self, identities: list[str], now: datetime) -> None:
        """Read known people's stale profiles and store them; never raises."""
        later = Lookups()
        try:
            async with asyncio.timeout(max(self.timeout, PROFILES_LATER_TIMEOUT)):
                await asyncio.gather(*(self._profile(i, later) for i in identities))
        except TimeoutError:
            later.failures.append("the directories did not finish in time")
        except Exception:
            log.exception("reading %d profiles in the background failed", len(identities))
        if later.failures:
            log.info("profiles read in the background: %s", "; ".join(later.failures[:5]))
        try:
            await asyncio.to_thread(self._apply, {}, later, now)
        except Exception:
            log.exception("storing %d profiles read in the background failed", len(identities))

    # -- fetching -----------------------------------------------------------------------

    def _directory(self, identity_or_source: str) -> Directory | None:
        return self.directories.get(platform_of(identity_or_source))

    def _email_directories(self) -> list[Directory]:
        return [d for d in self.directories.values() if d.resolves_email]

    def _wants_directory(self, group: GroupSpec) -> bool:
        return bool(group.sources) or any(
            self._directory(m.id) is not None
            or (m.id.startswith(EMAIL) and self._email_directories())
            for m in group.members
        )

    async def _look_up(
        self, groups: Mapping[str, GroupSpec], known: _Known, lookups: Lookups
    ) -> None:
        """Ask the directories; each answer lands in `lookups` as it comes."""
        sources = list(dict.fromkeys(s for g in groups.values() for s in g.sources))
        emails = [
            m.id
            for m in _unique(m for g in groups.values() for m in g.members)
            if m.id.startswith(EMAIL) and not (m.id in known.fresh and m.id in known.resolved)
        ]
        if not self._email_directories():
            emails = []  # no platform resolves addresses: they stay as they are
        await asyncio.gather(
            *(self._source(source, lookups) for source in sources),
            *(self._email(email, lookups) for email in emails),
        )
        wanted: list[str] = [
            m.id for g in groups.values() for m in g.members if not m.id.startswith(EMAIL)
        ]
        wanted += [i for found in lookups.sources.values() for i in found]
        profiled = {p.identity for p in lookups.emails.values() if p is not None}
        for person in lookups.emails.values():
            if person is not None:  # the address look-up returned the whole profile
                lookups.profiles[person.identity] = person
        stale = [
            i
            for i in dict.fromkeys(wanted)
            if i not in known.fresh and i not in profiled and self._directory(i) is not None
        ]
        lookups.later = [i for i in stale if i in known.checked]
        new = [i for i in stale if i not in known.checked]
        await asyncio.gather(*(self._profile(identity, lookups) for identity in new))

    async def _source(self, source: str, lookups: Lookups) -> None:
        directory = self._directory(source)
        if directory is None:
            lookups.failures.append(f"{source}: {platform_of(source)} is not configured")
            return
        try:
            lookups.sources[source] = await directory.members(source)
        except DirectoryError as exc:
            lookups.failures.append(f"{source}: {exc}")

    async def _email(self, email: str, lookups: Lookups) -> None:
        address = email.removeprefix(EMAIL)
        for directory in self._email_directories():
            try:
                person = await directory.find_email(address)
            except DirectoryError as exc:
                lookups.failures.append(f"{email}: {exc}")
                return
            if person is not None:
                lookups.emails[email] = person
                return
        lookups.emails[email] = None

    async def _profile(self, identity: str, lookups: Lookups) -> None:
        directory = self._directory(identity)
        if directory is None:
            return
        try:
            lookups.profiles[identity] = await directory.profile(identity)
        except DirectoryError as exc:
            lookups.failures.append(f"{identity}: {exc}")

    # -- storing ------------------------------------------------------------------------

    def _known(self, now: datetime) -> _Known:
        """Who has a recent profile, and what each address resolved to last time."""
        with self.db.transaction() as session:
            fresh: set[str] = set()
            checked: set[str] = set()
            for identity, at in session.execute(
                select(models.Member.identity, models.Member.directory_checked_at).where(
                    models.Member.directory_checked_at.is_not(None)
                )
            ):
                checked.add(identity)
                if at is not None and at >= now - self.max_age:
                    fresh.add(identity)
            return _Known(
                fresh=frozenset(fresh), checked=frozenset(checked), resolved=_resolutions(session)
            )

    def _apply(self, groups: Mapping[str, GroupSpec], lookups: Lookups, now: datetime) -> None:
        with self.db.transaction() as session:
            platforms = " or ".join(d.platform for d in self._email_directories()) or "chat"
            writer = _Writer(session, self.playbook, lookups, now, platforms)
            writer.apply(groups)
            if not groups:  # profiles read in the background
                writer.drop_unaskable()


class _Writer:
    """Writes one refresh's answers: members, their profiles, the groups' rows."""

    def __init__(
        self,
        session: Session,
        playbook: Playbook,
        lookups: Lookups,
        now: datetime,
        email_platforms: str,
    ) -> None:
        self.session = session
        self.lookups = lookups
        self.now = now
        self.email_platforms = email_platforms  # where addresses were looked up ("slack")
        # What the playbook says about each listed person wins over the directory.
        self.specs: dict[str, MemberSpec] = {
            m.id: m for g in playbook.groups.values() for m in g.members
        }
        self.resolved = _resolutions(session)
        involved = self._identities_involved(playbook) | set(self.resolved.values())
        self.members = {
            m.identity: m
            for m in session.scalars(
                select(models.Member).where(models.Member.identity.in_(involved))
            )
        }

    def _identities_involved(self, playbook: Playbook) -> set[str]:
        found = {i for ids in self.lookups.sources.values() for i in ids}
        found |= set(self.lookups.profiles)
        found |= {p.identity for p in self.lookups.emails.values() if p is not None}
        found |= set(self.lookups.emails)
        found |= {m.id for g in playbook.groups.values() for m in g.members}
        return found

    def apply(self, groups: Mapping[str, GroupSpec]) -> None:
        """Update profiles, resolve addresses and rewrite each group's directory rows."""
        for identity, person in self.lookups.profiles.items():
            if identity in self.members or (person is not None and person.promptable):
                self._profile(self.member(identity), person)
        rows = {
            g.key: g
            for g in self.session.scalars(select(models.Group).where(models.Group.key.in_(groups)))
        }
        for key, spec in groups.items():
            group = rows.get(key)
            if group is None:  # not synchronised yet: nothing to refresh
                continue
            self._group(group, spec)
        self.session.flush()

    def member(self, identity: str, spec: MemberSpec | None = None) -> models.Member:
        """The member with this identity, created if new (named by the playbook or the id)."""
        member = self.members.get(identity) or self.session.scalar(
            select(models.Member).where(models.Member.identity == identity)
        )
        if member is not None:
            self.members[identity] = member
        else:
            spec = spec or self.specs.get(identity)
            member = models.Member(
                identity=identity,
                display_name=(spec.name if spec and spec.name else identity)[:NAME_MAX],
                timezone=spec.timezone if spec else None,
            )
            self.session.add(member)
            self.session.flush()
            self.members[identity] = member
        return member

    def _profile(
        self, member: models.Member, person: Person | None, spec: MemberSpec | None = None
    ) -> None:
        """Store what the directory said about a person (the playbook's words win)."""
        spec = spec or self.specs.get(member.identity)
        member.directory_checked_at = self.now
        if person is None:
            member.unreachable_reason = _reason(
                messages.unreachable_not_found(platform_of(member.identity))
            )
            return
        if not person.active:
            member.unreachable_reason = messages.UNREACHABLE_DEACTIVATED
        elif person.bot:
            member.unreachable_reason = messages.UNREACHABLE_BOT
        else:
            member.unreachable_reason = None
        if not (spec and spec.name) and person.name:
            member.display_name = person.name[:NAME_MAX]
        if not (spec and spec.timezone) and person.timezone:
            member.timezone = person.timezone

    def _group(self, group: models.Group, spec: GroupSpec) -> None:
        existing = {
            link.member_id: link
            for link in self.session.scalars(
                select(models.GroupMember).where(models.GroupMember.group_id == group.id)
            )
        }
        # member id -> source; the first claim wins: listed, then addresses, then sources.
        desired: dict[int, str | None] = {}
        for person in spec.members:
            if not person.id.startswith(EMAIL):
                desired.setdefault(self.member(person.id).id, None)
        for person in spec.members:
            if person.id.startswith(EMAIL):
                member_id, source = self._address(person)
                desired.setdefault(member_id, source)
        by_source: dict[str, list[int]] = {}
        for link in existing.values():
            if link.source is not None:
                by_source.setdefault(link.source, []).append(link.member_id)
        for source in spec.sources:
            if source not in self.lookups.sources:  # no answer: keep who it had
                for member_id in by_source.get(source, []):
                    desired.setdefault(member_id, source)
                continue
            for identity in self.lookups.sources[source]:
                if self._askable(identity):
                    desired.setdefault(self.member(identity).id, source)
        for member_id, link in existing.items():
            if member_id not in desired:
                self.session.delete(link)
            elif link.source != desired[member_id]:
                link.source = desired[member_id]
        self.session.flush()
        for member_id, source in desired.items():
            if member_id not in existing:
                self.session.add(
                    models.GroupMember(group_id=group.id, member_id=member_id, source=source)
                )

    def _address(self, spec: MemberSpec) -> tuple[int, str | None]:
        """The member an `email:` entry stands for, and the row's source.

        Resolved: the chat user, with the address as source. Nobody has it: the address
        itself, listed (source None), marked unreachable. No answer: as last time.
        """
        email = spec.id
        if email not in self.lookups.emails:
            resolved = self.resolved.get(email)
            if resolved is not None:
                return self.member(resolved).id, email
            return self.member(email).id, None
        person = self.lookups.emails[email]
        placeholder = self.member(email)
        placeholder.directory_checked_at = self.now
        if person is None or not person.promptable:
            if person is None:
                why = messages.unreachable_no_email(self.email_platforms)
            elif not person.active:
                why = messages.UNREACHABLE_DEACTIVATED
            else:
                why = messages.UNREACHABLE_BOT
            placeholder.unreachable_reason = _reason(why)
            self.resolved.pop(email, None)
            return placeholder.id, None
        placeholder.unreachable_reason = None
        target = self.member(person.identity, spec)
        self._profile(target, person, spec)
        if spec.name:
            target.display_name = spec.name[:NAME_MAX]
        if spec.timezone:
            target.timezone = spec.timezone
        self.resolved[email] = person.identity
        return target.id, email

    def drop_unaskable(self) -> None:
        """Take people whose profile now says bot or deactivated out of the sources' rows.

        What a refresh before the open does for people read from a source, done for the
        profiles read in the background; listed members stay (the playbook owns them).
        """
        gone = [
            self.members[identity].id
            for identity, person in self.lookups.profiles.items()
            if identity in self.members and (person is None or not person.promptable)
        ]
        if gone:
            self.session.execute(
                delete(models.GroupMember).where(
                    models.GroupMember.member_id.in_(gone),
                    models.GroupMember.source.is_not(None),
                    ~models.GroupMember.source.startswith(EMAIL),
                )
            )

    def _askable(self, identity: str) -> bool:
        """Whether someone read from a source is asked: an active human, as far as known.

        Without a profile (the directory did not answer) a known member keeps their last
        state and an unknown one is asked: missing a person is worse than one failed
        message to a bot, which `status` then shows.
        """
        if identity in self.lookups.profiles:
            person = self.lookups.profiles[identity]
            return person is not None and person.promptable
        member = self.members.get(identity)
        return member is None or member.unreachable_reason is None


def _resolutions(session: Session) -> dict[str, str]:
    """`email:` identity -> the identity its group rows point at (the last resolution)."""
    rows = session.execute(
        select(models.GroupMember.source, models.Member.identity)
        .join(models.Member, models.Member.id == models.GroupMember.member_id)
        .where(models.GroupMember.source.startswith(EMAIL))
    ).all()
    return {str(source): str(identity) for source, identity in rows}


def _unique(members: Iterable[MemberSpec]) -> list[MemberSpec]:
    seen: dict[str, MemberSpec] = {}
    for member in members:
        seen.setdefault(member.id, member)
    return list(seen.values())


def _reason(text: str) -> str:
    return text[:REASON_MAX]


def unreachable_lines(session: Session, group_keys: Iterable[str]) -> list[str]:
    """`identity (name): reason` for members of these groups who cannot be reached.

    For `status`: an `email:` address nobody in the workspace has, a listed person whose
    account was deactivated, and the like (`Member.unreachable_reason`).
    """
    keys = sorted(set(group_keys))
    if not keys:
        return []
    rows = session.execute(
        select(models.Member.identity, models.Member.display_name, models.Member.unreachable_reason)
        .join(models.GroupMember, models.GroupMember.member_id == models.Member.id)
        .join(models.Group, models.Group.id == models.GroupMember.group_id)
        .where(models.Group.key.in_(keys), models.Member.unreachable_reason.is_not(None))
        .distinct()
        .order_by(models.Member.identity)
    ).all()
    return [
        messages.unreachable_line(identity, name, reason or "") for identity, name, reason in rows
    ]


__all__ = [
    "PROFILE_MAX_AGE",
    "REFRESH_TIMEOUT",
    "Lookups",
    "MembershipRefresher",
    "platform_of",
    "unreachable_lines",
]
