"""Pacing a workspace at what it showed it takes (`bot.delivery.pacing`), on a clock of ours.

Every time is a number passed in, so these run in no time and assert no wall clock. The
platform is modelled as Slack's workspace cap is: a strict rolling second that refuses the
post that would make `cap + 1` in it.
"""

from __future__ import annotations

import random
from collections import deque

import pytest

from bot.adapters.base import DeliveryResult
from bot.delivery import OutboxWorker, enqueue
from bot.delivery.pacing import (
    PACE_JITTER,
    PACE_PROBE_SECONDS,
    PACE_PROBE_STEP,
    Pacer,
    ScopePace,
)
from bot.flows.outbound import Notice
from storage.db import Database
from storage.models import RateLimitHold
from tests.conftest import FakeClock
from tests.fakes.adapters import RecordingAdapter

WORKSPACE = "slack:T1/"


class RollingSecond:
    """A workspace cap: at most `cap` posts arrive in any rolling second."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.arrived: deque[float] = deque()
        self.refused = 0

    def post(self, at: float) -> bool:
        while self.arrived and at - self.arrived[0] >= 1.0:
            self.arrived.popleft()
        if len(self.arrived) >= self.cap:
            self.refused += 1
            return False
        self.arrived.append(at)
        return True


def posts(pacer: Pacer, starts: list[float], rtt: float = 0.004) -> None:
    """Posts that started at `starts` and were taken, each answered `rtt` later."""
    for at in starts:
        pacer.answered(pacer.start(WORKSPACE, at), at + rtt)


def learn_from_a_burst(pacer: Pacer, cap: int, *, at: float = 0.0) -> None:
    """A cold burst: `cap` posts taken at once, the next refused (a 429, Retry-After 1)."""
    posts(pacer, [at + n * 0.001 for n in range(cap)])
    refused = pacer.start(WORKSPACE, at + cap * 0.001)
    pacer.refused(WORKSPACE, refused, at + cap * 0.001 + 0.004, 1.0, paced=True)


def send_paced(
    pacer: Pacer,
    platform: RollingSecond,
    count: int,
    *,
    start: float,
    jitter: float,
    seed: int,
    stalls: tuple[tuple[float, float], ...] = (),
) -> list[float]:
    """Post `count` times in the pacer's slots, as `OutboxWorker` does, on our clock.

    Each post arrives up to `jitter` s after it starts. During a stall of the process
    (from, to) nothing runs: a post due then starts when it ends, and one that started
    in the 50 ms before it is held up with it on its way out (it arrives at the end).
    """
    rng = random.Random(seed)

    def running(at: float) -> float:
        return next((end for begin, end in stalls if begin <= at < end), at)

    arrivals = []
    now = start
    for _ in range(count):
        slot, _ = pacer.reserve(WORKSPACE, now, ahead=float("inf"))
        assert slot is not None
        now = running(max(now, slot))
        while (earliest := pacer.earliest(WORKSPACE, now)) > now:
            now = running(earliest)
        post = pacer.start(WORKSPACE, now)
        arrival = running(now + 0.05) if running(now + 0.05) != now + 0.05 else now
        arrival += rng.uniform(0.0, jitter)
        assert platform.post(arrival), f"refused at {arrival:.3f}"
        pacer.answered(post, arrival + 0.002)
        arrivals.append(arrival)
    return arrivals


def test_a_burst_teaches_the_cap_and_the_next_process_paces_from_it() -> None:
    pacer = Pacer()
    learn_from_a_burst(pacer, 20)
    assert pacer.cap_of(WORKSPACE) == 20

    fresh = Pacer()  # another replica, or the next process, reading `rate_limit_holds`
    fresh.adopt(WORKSPACE, 20.0, now=100.0)
    first, _ = fresh.reserve(WORKSPACE + "U1", 100.0)
    second, _ = fresh.reserve(WORKSPACE + "U2", 100.0)
    assert first == 100.0 and second == pytest.approx(100.0 + (1 + PACE_JITTER) / 20)
    fresh.adopt(WORKSPACE, 5.0, now=101.0)  # what it learned itself stays
    assert fresh.cap_of(WORKSPACE) == 20


@pytest.mark.parametrize("cap", [10, 20, 50])
def test_the_pace_keeps_under_any_cap_at_ninety_five_percent(cap: int) -> None:
    pacer = Pacer()
    learn_from_a_burst(pacer, cap)
    platform = RollingSecond(cap)
    arrivals = send_paced(pacer, platform, 30 * cap, start=2.0, jitter=0.04, seed=cap)
    assert platform.refused == 0
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert rate >= 0.94 * cap  # the margin is 50 ms a second whatever the cap


def test_another_workspace_is_not_paced() -> None:
    pacer = Pacer()
    learn_from_a_burst(pacer, 20)
    assert pacer.reserve("slack:T2/U1", 5.0) == (5.0, 0.0)
    assert pacer.reserve("slack:T2/U2", 5.0) == (5.0, 0.0)


def test_a_slot_is_claimed_only_shortly_before_it() -> None:
    pace = ScopePace(cap=4.0, learned_at=0.0)
    slots = [pace.reserve(10.0, ahead=0.5) for _ in range(4)]
    interval = (1 + PACE_JITTER) / 4
    assert [slot for slot, _ in slots[:2]] == pytest.approx([10.0, 10.0 + interval])
    # The third would start more than half a second on: not claimed yet, and when to look.
    assert slots[2] == (None, pytest.approx(2 * interval - 0.5))


def test_a_late_429_of_the_burst_that_taught_the_cap_changes_nothing() -> None:
    pacer = Pacer()
    late = pacer.start(WORKSPACE, 0.0)  # started with the burst, answered after the lesson
    learn_from_a_burst(pacer, 20, at=0.0)
    pacer.refused(WORKSPACE, late, 0.05, 1.0, paced=True)
    assert pacer.cap_of(WORKSPACE) == 20  # it was counted as taken, and is no longer


def test_answers_read_out_of_order_teach_the_whole_burst() -> None:
    pacer = Pacer()
    # 50 posts go out over 0.9 s; the 51st is refused, and its answer is read first,
    # before those of the 20 latest (a busy event loop): they are still in flight.
    early = [n * 0.018 for n in range(30)]
    posts(pacer, early)
    in_flight = [pacer.start(WORKSPACE, 0.54 + n * 0.018) for n in range(20)]
    refused = pacer.start(WORKSPACE, 0.9)
    pacer.refused(WORKSPACE, refused, 0.95, 1.0, paced=True)
    assert pacer.cap_of(WORKSPACE) == 50
    for post in in_flight:
        pacer.answered(post, 0.96)


def test_a_429_while_paced_lowers_the_cap_to_what_the_second_took() -> None:
    pacer = Pacer()
    learn_from_a_burst(pacer, 20, at=0.0)
    posts(pacer, [10.0 + n * 0.05 for n in range(12)])  # another app takes the rest now
    pacer.refused(WORKSPACE, pacer.start(WORKSPACE, 10.6), 10.61, 1.0, paced=True)
    assert pacer.cap_of(WORKSPACE) == 12


def test_a_429_after_as_many_as_the_cap_widens_the_margin_and_a_quiet_minute_narrows_it() -> None:
    pacer = Pacer()
    learn_from_a_burst(pacer, 20, at=0.0)
    pace = pacer.paces[WORKSPACE]
    posts(pacer, [10.0 + n * 0.04 for n in range(20)])  # bunched by the network
    pacer.refused(WORKSPACE, pacer.start(WORKSPACE, 10.8), 10.81, 1.0, paced=True)
    assert pace.cap == 20  # it still takes 20 ...
    assert pace.jitter == 2 * PACE_JITTER  # ... further apart
    now = 20.0
    for _ in range(int(20 * PACE_PROBE_SECONDS)):  # a minute's worth of posts, no 429
        pace.reserve(now)
        now += pace.interval
    assert pace.jitter == PACE_JITTER and pace.cap == 20
    for _ in range(int(20 * PACE_PROBE_SECONDS)):  # another: probe for a higher cap
        pace.reserve(now)
        now += pace.interval
    assert pace.cap == pytest.approx(20 * PACE_PROBE_STEP)


def test_idle_time_is_no_minute_of_proof() -> None:
    pace = ScopePace(cap=20.0, learned_at=0.0)
    pace.reserve(0.0)
    pace.reserve(3600.0)  # an hour later, after one post
    assert pace.cap == 20


def test_a_429_of_another_method_only_holds() -> None:
    pacer = Pacer()
    posts(pacer, [n * 0.01 for n in range(20)])
    pacer.refused(WORKSPACE, None, 0.21, 57.0, paced=False)  # conversations.open's minute
    assert pacer.cap_of(WORKSPACE) is None
    assert pacer.held_after(WORKSPACE + "U1", claimed_at=0.0, now=1.0) == pytest.approx(57.21)


def test_a_hold_keeps_back_the_sends_claimed_before_it_only() -> None:
    pacer = Pacer()
    learn_from_a_burst(pacer, 20, at=5.0)  # the 429's answer at 5.024, Retry-After 1
    # Claimed before the 429 was recorded: waits here, then takes a slot after the hold.
    assert pacer.held_after(WORKSPACE + "U1", claimed_at=4.9, now=5.2) == pytest.approx(6.024)
    slot, _ = pacer.reserve(WORKSPACE + "U1", 5.2, ahead=float("inf"), after=6.024)
    assert slot == pytest.approx(6.024)
    # Claimed after: the claim read the hold from the database, whose clock counts.
    assert pacer.held_after(WORKSPACE + "U2", claimed_at=5.5, now=5.6) == 0.0
    # And no other workspace waits.
    assert pacer.held_after("slack:T2/U1", claimed_at=4.9, now=5.2) == 0.0


@pytest.mark.parametrize("cap", [10, 20, 50])
def test_a_stalled_process_bunches_no_posts_over_the_cap(cap: int) -> None:
    pacer = Pacer()
    learn_from_a_burst(pacer, cap)
    platform = RollingSecond(cap)
    stalls = ((3.0, 3.6), (5.2, 5.3), (7.0, 7.9), (9.05, 9.5))
    arrivals = send_paced(
        pacer, platform, 12 * cap, start=2.0, jitter=0.02, seed=cap, stalls=stalls
    )
    assert platform.refused == 0
    lost = sum(end - begin for begin, end in stalls)
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0] - lost)
    assert rate >= 0.9 * cap  # and no more time lost than the stalls themselves


def test_a_post_held_up_before_the_network_counts_as_late_as_its_answer() -> None:
    pacer = Pacer()
    pacer.adopt(WORKSPACE, 20.0, now=-2.0)
    interval = pacer.paces[WORKSPACE].interval
    posts(pacer, [n * interval for n in range(-20, 0)])  # on time: the network takes 4 ms
    for n in range(20):  # started on time, but the process stalled before sending them
        pacer.answered(pacer.start(WORKSPACE, n * interval), 1.5)  # answered together
    # Had they arrived on time, the next could go at 1.05; they arrived near 1.5.
    assert pacer.earliest(WORKSPACE, 1.05) > 2.4


def test_a_post_still_unanswered_counts_as_arriving_now() -> None:
    pacer = Pacer()
    pacer.adopt(WORKSPACE, 5.0, now=0.0)
    pacer.start(WORKSPACE, 0.1)  # never answered (yet)
    posts(pacer, [1.19, 1.39, 1.59, 1.79], rtt=0.01)
    # Five posts may have arrived since 1.2: the sixth waits till a second after that.
    assert pacer.earliest(WORKSPACE, 2.0) > 2.2


def test_one_workspace_waits_in_at_most_so_many_slots() -> None:
    pace = ScopePace(cap=50.0, learned_at=0.0)
    slots = [pace.reserve(10.0, ahead=0.5, most=8)[0] for _ in range(12)]
    assert sum(slot is not None for slot in slots) == 8  # the rest for other workspaces


async def test_the_cap_a_worker_learned_is_kept_for_every_replica(
    db: Database, clock: FakeClock
) -> None:
    with db.transaction() as s:
        for n in range(6):
            enqueue(
                s, key=f"k{n}", address=f"slack:U{n}", message=Notice(lines=("hi",)), now=clock()
            )
    slack = RecordingAdapter("slack")
    slack.script([DeliveryResult.retry("ratelimited", retry_after=1.0)], address="slack:U5")
    worker = OutboxWorker(
        db,
        {"slack": slack},
        clock=clock,
        per_destination_interval=0.0,
        concurrency=1,  # one after another: five taken, then the sixth refused
        rng=random.Random(7),
    )
    assert await worker.drain_once() == 6
    assert slack.sent_keys == [f"k{n}" for n in range(5)]
    with db.transaction() as s:
        hold = s.get(RateLimitHold, "slack:")
        assert hold is not None and hold.rate == 5  # what the workspace took in that second
