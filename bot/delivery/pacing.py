"""Pacing a workspace at the rate it showed it takes, learned from its 429s.

Why: Slack limits `chat.postMessage` per workspace as well as per channel, in a rolling
window, and answers a post over the limit with a 429 whose `Retry-After` is whole
seconds; the outbox then holds every post to that workspace for that long (on every
replica). Bursting into the cap therefore costs a second of the workspace's sending for
each 429. So the outbox learns how many posts the workspace took, and from then on posts
just under that, each post at a start time of its own (a "slot"). Nothing here knows a
platform: scopes are address prefixes (the adapter's `hold_scope`), and all times are
`time.monotonic()` values passed in, so the rules are tested on a clock of the test's.

The rules:

- **What a workspace takes** (`ScopePace.cap`, posts per rolling second) is learned from
  the 429 that ended a burst: the posts that started in the second before the refused
  one (a post starts when the adapter is about to make the call, after any DM it had to
  open; one still in flight counts as taken). Counting by answers instead would miss the
  ones read after the 429 when the event loop was busy. A 429 for a post that started
  before the lesson is the same burst answering late: the lesson is counted again. The
  cap is kept in the database with the hold (`rate_limit_holds.rate`), so a fresh
  process or another replica paces from its first post, and no built-in figure is
  assumed for any platform.
- **Posts, not messages.** The adapter awaits the outbox's `pace` before each post (each
  part of a long message, after a DM was opened); an adapter that does not is paced one
  slot per send.
- **A margin in time, not in posts.** Slots are `(1 + jitter) / cap` seconds apart, the
  jitter starting at `PACE_JITTER` (50 ms): any `cap + 1` posts in a row span more than
  a second even when the network delays one of them 50 ms more than another. That is the
  same share of the cap (about 95 %) whatever the cap is; a margin of a fixed number of
  posts would be most of a small cap and too thin for a large one.
- **What really went out** (`ScopePace.earliest`): a post that starts late (a slow
  claim, a busy event loop) or is held up on its way out (a busy process) would reach
  the platform together with the next ones. Each post's arrival is estimated from its
  start and its answer (in flight: as late as now), and a post waits until the `cap`-th
  latest arrival is a second (and half the margin) behind it.
- **A 429 while paced**: if the second before it took fewer posts than the cap, the
  workspace takes less now (another app shares it, or a probe went too high): the cap
  becomes what it took. If it took as many, the cap was right and the posts arrived
  bunched: the jitter margin doubles (at most `PACE_JITTER_MAX`).
- **A hold keeps back what was claimed before it.** A claim reads the holds in the
  database, where a 429 gets only when its result is recorded; a post claimed before
  that waits here for the hold's end and takes a new slot after it, instead of meeting
  429s that would each restart the hold.
- **Probing.** After a minute's worth of posts at the pace (`cap * PACE_PROBE_SECONDS`
  of them) without a 429, a widened margin is halved, or else the cap raised a tenth, to
  find a cap that was raised. Idle time is not a minute of proof.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

# The platform's window: Slack's limits are per rolling second (or minute, for Tier 3).
WINDOW_SECONDS = 1.0
# Arrival jitter a paced scope absorbs: slots `(1 + PACE_JITTER) / cap` apart; doubled
# after a 429 that took no fewer posts than the cap, up to PACE_JITTER_MAX.
PACE_JITTER = 0.05
PACE_JITTER_MAX = 0.4
# A minute's worth of posts at the learned pace without a 429 raises the cap a tenth.
PACE_PROBE_SECONDS = 60.0
PACE_PROBE_STEP = 1.1
# How far ahead of its start a paced send is claimed (each then waits for its slot), so
# neither the claim's transaction nor a late wake-up leaves a slot unused.
PACE_AHEAD = 0.5
# A post unanswered this long no longer counts in `earliest` (longer than any HTTP
# timeout the adapters use).
_UNANSWERED_SECONDS = 60.0
# Answered posts are kept this long, to count what the second before a 429 took and for
# `ScopePace.earliest`.
_KEEP_SECONDS = 2 * (WINDOW_SECONDS + PACE_JITTER_MAX)
# A scope's posts are filtered whole (not just trimmed at the old end) once there are
# this many, and then again each time they have doubled since: a platform without a
# limit (the console) takes thousands a second, all fresh, and filtering them at every
# post would cost the event loop time that grows with the square of the fan-out.
_FILTER_AT = 1000


@dataclass
class Post:
    """One post: when it started, when its answer came, and whether that was a 429."""

    start: float
    answered: float | None = None
    refused: bool = False


@dataclass
class ScopePace:
    """What one scope (a workspace) takes, and its next free slot; see the module docstring.

    Args:
        cap: posts per rolling second the scope took.
        learned_at: when the cap was last learned (a 429 for a post started before this
            is the same burst, answering late).
        cold: learned from a burst with no pace yet (its late 429s may count it again).
    """

    cap: float
    learned_at: float
    cold: bool = False
    lesson: float = 0.0  # when the refused post that taught a cold cap started
    jitter: float = PACE_JITTER  # seconds of arrival jitter the slots absorb
    next_slot: float = 0.0  # the earliest start of the next post
    quiet_posts: float = 0.0  # posts reserved since the last 429 or probe

    @property
    def interval(self) -> float:
        """Seconds between two slots."""
        return (WINDOW_SECONDS + self.jitter) / self.cap

    def reserve(
        self,
        now: float,
        *,
        ahead: float = PACE_AHEAD,
        held_until: float = 0.0,
        most: int | None = None,
    ) -> tuple[float | None, float]:
        """A slot for one post: (its start time, 0), or (None, seconds to wait).

        A post is given its start only when it is at most `ahead` seconds (and `most`
        slots) away, and not before `held_until`. A minute's worth of posts without a 429
        probes (see the module docstring).
        """
        slot = max(now, held_until, self.next_slot)
        limit = ahead if most is None else min(ahead, most * self.interval)
        if slot - now > limit:
            return None, slot - now - limit
        self.next_slot = slot + self.interval
        self.quiet_posts += 1
        if self.quiet_posts >= self.cap * PACE_PROBE_SECONDS:
            self.quiet_posts = 0.0
            if self.jitter > PACE_JITTER:
                self.jitter = max(PACE_JITTER, self.jitter / 2)
            else:
                self.cap *= PACE_PROBE_STEP
        return slot, 0.0

    def earliest(self, now: float, posts: Iterable[Post]) -> float:
        """When a post may start so that no `cap + 1` in a row reach the platform too close.

        Slots keep posts apart when they start on time, but one that starts late (a slow
        claim, a busy event loop) goes out together with the next ones, and one held up
        between its start and the network (a busy process) arrives together with later
        ones: `cap + 1` posts in less than a second. So each post's arrival is estimated
        from its start and its answer (`_arrivals`), and a post waits until the `cap`-th
        latest arrival is at least `cap` slots (less half the jitter margin) before its own.
        """
        count = max(1, int(self.cap))
        taken = [p for p in posts if not p.refused]
        if len(taken) < count:
            return now
        rtts = [p.answered - p.start for p in taken if p.answered is not None]
        half = min(rtts, default=0.0) / 2  # the network's own delay, one way
        arrivals = sorted(_arrivals(taken, now, half))
        span = count * self.interval - self.jitter / 2
        return max(now, arrivals[-count] + span - half)  # it arrives half a round trip on

    def limited(self, took: int, now: float) -> None:
        """A 429 while paced, after the second before it took `took` posts.

        Fewer than the cap: the workspace takes less now (another app shares it, or the
        cap was a probe too high): the cap becomes what it took. As many: the cap was
        right and the network bunched the posts: the margin doubles.
        """
        if took < self.cap:
            self.cap = max(1.0, float(took))
        else:
            self.jitter = min(PACE_JITTER_MAX, 2 * self.jitter)
        self.learned_at, self.quiet_posts, self.cold = now, 0.0, False


def _arrivals(posts: Iterable[Post], now: float, half: float) -> list[float]:
    """When each post reached the platform, at the latest.

    Answered: half the quickest round trip before its answer. Not answered yet: not before
    half a round trip after its start, and, as its answer has not come, not before half a
    round trip ago.
    """
    return [
        p.answered - half if p.answered is not None else max(p.start + half, now - half)
        for p in posts
    ]


@dataclass
class Pacer:
    """Every scope's recent posts and learned pace, for one worker.

    Thread-safe: the outbox reserves slots in its claim's worker thread and learns on the
    event loop.
    """

    paces: dict[str, ScopePace] = field(default_factory=dict)
    # prefix -> (when this process met the 429, when its hold ends)
    _holds: dict[str, tuple[float, float]] = field(default_factory=dict)
    _posts: dict[str, _Posts] = field(default_factory=dict)  # scope -> recent posts
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __bool__(self) -> bool:
        return bool(self.paces)

    def _pace_for(self, scope: str) -> ScopePace | None:
        for prefix, pace in self.paces.items():
            if _overlap(scope, prefix):
                return pace
        return None

    def _posts_for(self, scope: str) -> list[Post]:
        return [p for key, posts in self._posts.items() if _overlap(scope, key) for p in posts]

    def adopt(self, prefix: str, cap: float, now: float) -> None:
        """Pace `prefix` at a cap another process learned, unless this one learned its own."""
        with self._lock:
            if prefix not in self.paces:
                self.paces[prefix] = ScopePace(cap=max(1.0, cap), learned_at=now)

    def cap_of(self, prefix: str) -> float | None:
        """The cap learned for `prefix`, if any."""
        with self._lock:
            pace = self.paces.get(prefix)
            return pace.cap if pace is not None else None

    def reserve(
        self,
        scope: str,
        now: float,
        *,
        ahead: float = PACE_AHEAD,
        after: float = 0.0,
        most: int | None = None,
    ) -> tuple[float | None, float]:
        """(When a post to `scope` may start, 0), or (None, seconds to wait).

        A scope that is not paced may start now (or at `after`, the end of a hold).
        """
        with self._lock:
            pace = self._pace_for(scope)
            if pace is None:
                return max(now, after), 0.0
            return pace.reserve(now, ahead=ahead, held_until=after, most=most)

    def earliest(self, scope: str, now: float) -> float:
        """When a post to `scope` may start, by what really went out (`ScopePace.earliest`)."""
        with self._lock:
            pace = self._pace_for(scope)
            return pace.earliest(now, self._posts_for(scope)) if pace is not None else now

    def start(self, scope: str, now: float) -> Post:
        """A post to `scope` starts now; give what this returns to `answered` or `refused`."""
        post = Post(start=now)
        with self._lock:
            posts = self._posts.get(scope)
            if posts is None:
                posts = self._posts[scope] = _Posts()
            posts.append(post)
            _trim(posts, now)
        return post

    def answered(self, post: Post, now: float) -> None:
        """The answer to `post` came at `now` (or none will)."""
        with self._lock:
            if post.answered is None:
                post.answered = now

    def held_after(self, scope: str, claimed_at: float, now: float) -> float:
        """The end of a hold on `scope` met after `claimed_at` (`now` or earlier: none).

        A claim reads the holds in the database, which a 429 reaches only when its result
        is recorded: the sends claimed before that wait for it here. Later claims saw it
        (or its end) in the database, whose clock is the one that counts.
        """
        with self._lock:
            for prefix, (_, until) in list(self._holds.items()):
                if until <= now:
                    del self._holds[prefix]  # keeps the map as small as the holds
            return max(
                (
                    until
                    for prefix, (since, until) in self._holds.items()
                    if since >= claimed_at and _overlap(scope, prefix)
                ),
                default=0.0,
            )

    def refused(
        self, scope: str, post: Post | None, now: float, retry_after: float, *, paced: bool
    ) -> None:
        """A 429 answered `post` at `now`: hold the scope, and learn if `paced`.

        Args:
            scope: the address prefix the 429 holds.
            post: the refused post (None: refused before any post, such as opening a DM).
            now: when its answer came.
            retry_after: the platform's `Retry-After`.
            paced: the 429 is the paced method's (its posts are what it counts), not
                another method's (opening a DM), which only holds.
        """
        with self._lock:
            if post is not None:
                post.refused = True
                if post.answered is None:
                    post.answered = now
            if paced and post is not None:
                took = self._took(scope, post.start)
                pace = self._pace_for(scope)
                if pace is None:
                    if took:  # the end of a burst: what it took is the cap
                        self.paces[scope] = ScopePace(
                            cap=float(took), learned_at=now, cold=True, lesson=post.start
                        )
                elif post.start < pace.learned_at:  # the same burst, answering late
                    if pace.cold:  # count the burst that taught the cap again, fuller
                        pace.cap = float(max(self._took(scope, pace.lesson), took, 1))
                else:
                    pace.limited(took, now)
            until = now + retry_after
            if until > self._holds.get(scope, (now, 0.0))[1]:
                self._holds[scope] = (now, until)

    def _took(self, scope: str, before: float) -> int:
        """The posts to `scope` taken in the second before a post that started at `before`.

        Counted by when they started, as answers may be read out of order after the event
        loop was busy; a post still in flight counts as taken (if it is refused too, the
        lesson is counted again).
        """
        return sum(
            1
            for p in self._posts_for(scope)
            if not p.refused and before - WINDOW_SECONDS < p.start < before
        )


class _Posts(deque[Post]):
    """A scope's recent posts, oldest first; filtered whole once longer than `limit`."""

    def __init__(self) -> None:
        super().__init__()
        self.limit = _FILTER_AT


def _trim(posts: _Posts, now: float) -> None:
    """Forget answered posts older than `_KEEP_SECONDS`, and unanswered ones after a while."""
    while posts and (
        (posts[0].answered is not None and now - posts[0].answered > _KEEP_SECONDS)
        or now - posts[0].start > _UNANSWERED_SECONDS
    ):
        posts.popleft()
    if len(posts) > posts.limit:  # an answer that never came holds up the oldest end
        kept = [p for p in posts if p.answered is None or now - p.answered <= _KEEP_SECONDS]
        posts.clear()
        posts.extend(kept)
        posts.limit = max(_FILTER_AT, 2 * len(kept))


def _overlap(scope: str, prefix: str) -> bool:
    """Whether a hold or pace of `prefix` covers `scope` (one is a prefix of the other)."""
    return scope.startswith(prefix) or prefix.startswith(scope)
