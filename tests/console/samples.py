"""Sample outbound messages and a small echoing engine for the console tests.

The real engine lives in `bot.flows.engine`; these tests only need something that turns
each inbound event into predictable, structured replies, and records what it received.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.flows.digest_model import (
    ChoiceRollup,
    ConversationDigest,
    Digest,
    GroupParticipation,
    MaturityView,
    Placed,
    QuestionRollup,
    RatingRollup,
    TextAnswer,
)
from bot.flows.events import (
    ActionPressed,
    AnswerGiven,
    CommandInvoked,
    FormSubmitted,
    InboundEvent,
    TextMessage,
)
from bot.flows.outbound import (
    DigestMessage,
    Form,
    Notice,
    Outgoing,
    Prompt,
    QuestionView,
    Summary,
    SummaryItem,
)
from bot.flows.routing import reply_address

CIO = "console:cio"
MARIA = "console:maria"
CHANNEL = "console:#cio"
PEOPLE = [
    (CIO, "Casey (CIO)", "cio"),
    (MARIA, "Maria Lopez", "marketing"),
    ("console:sam", "Sam Okafor", "hr"),
]
DEADLINE = datetime(2030, 3, 14, 17, 0, tzinfo=UTC)
LABELS = {1: "Not started", 3: "Piloting", 5: "Embedded"}

RATING_Q = QuestionView(
    id="listening",
    text="How well do we listen to what customers say about us on social channels?",
    type="rating",
    required=True,
    labels=LABELS,
    help="Think of the last quarter.",
    index=1,
    total=3,
)
CHOICE_Q = QuestionView(
    id="channels",
    text="Which channels matter most this quarter?",
    type="multiple_choice",
    required=False,
    options=("Blogs", "Fan pages", "Communities"),
    index=2,
    total=3,
)
TEXT_Q = QuestionView(
    id="heard",
    text="What did you hear from customers this month?",
    type="text",
    required=False,
    index=3,
    total=3,
)


def prompt(*, reminder: bool = False, note: str | None = None) -> Prompt:
    """The opening prompt of Social Media round 4, asking a rating question."""
    return Prompt(
        round_id=7,
        conversation_key="social-media",
        conversation_title="Social Media",
        round_number=4,
        deadline=DEADLINE,
        purpose="Brand management and customer engagement: blogs, programs, fan pages.",
        opening=True,
        reminder=reminder,
        note=note,
        question=RATING_Q,
    )


def form(errors: dict[str, str] | None = None) -> Form:
    """Every question of round 7, with the rating already answered."""
    return Form(
        round_id=7,
        conversation_key="social-media",
        conversation_title="Social Media",
        deadline=DEADLINE,
        questions=(RATING_Q, CHOICE_Q, TEXT_Q),
        values={"listening": 4},
        errors=errors or {},
    )


def summary() -> Summary:
    """Maria's answers so far."""
    return Summary(
        round_id=7,
        conversation_key="social-media",
        conversation_title="Social Media",
        deadline=DEADLINE,
        done=True,
        editable=True,
        items=(
            SummaryItem(question_id="listening", question=RATING_Q.text, answer="4/5"),
            SummaryItem(question_id="channels", question=CHOICE_Q.text, answer=None, skipped=True),
        ),
    )


def digest(
    text_answer: str = "Customers want faster answers on the fan page.", title: str = "Social Media"
) -> DigestMessage:
    """An enterprise digest with one conversation, every rollup kind and a maturity view.

    `title` names the conversation in its digest and on the maturity map (a chart label).
    """
    now = datetime(2030, 3, 15, 9, 0, tzinfo=UTC)
    conversation = ConversationDigest(
        conversation_key="social-media",
        title=title,
        round_id=7,
        round_number=4,
        status="closed",
        opened_at=now - timedelta(days=7),
        deadline=now - timedelta(hours=16),
        closed_at=now - timedelta(hours=16),
        invited=6,
        answered=4,
        previous_round_number=3,
        previous_invited=6,
        previous_answered=3,
        participation=(
            GroupParticipation(group_key="marketing", title="Marketing", invited=3, answered=3),
            GroupParticipation(
                group_key="pr", title="PR", invited=3, answered=1, missing=("Lee", "Ana")
            ),
        ),
        questions=(
            QuestionRollup(
                question_id="listening",
                text=RATING_Q.text,
                type="rating",
                answered=4,
                skipped=0,
                rating=RatingRollup(
                    mean=3.5,
                    count=4,
                    distribution={1: 0, 2: 1, 3: 1, 4: 1, 5: 1},
                    labels=LABELS,
                    previous_mean=2.8,
                ),
            ),
            QuestionRollup(
                question_id="channels",
                text=CHOICE_Q.text,
                type="multiple_choice",
                answered=3,
                skipped=1,
                choices=ChoiceRollup(
                    counts={"Blogs": 1, "Fan pages": 3, "Communities": 2},
                    previous_counts={"Blogs": 2, "Fan pages": 1, "Communities": 2},
                ),
            ),
            QuestionRollup(
                question_id="heard",
                text=TEXT_Q.text,
                type="text",
                answered=2,
                skipped=2,
                texts=(
                    TextAnswer(text=text_answer, author="Maria Lopez", group_key="marketing"),
                    TextAnswer(text="More questions about pricing.", author="Lee"),
                ),
            ),
        ),
    )
    return DigestMessage(
        digest=Digest(
            scope="all",
            organisation="Acme Corp",
            generated_at=now,
            conversations=(conversation,),
            maturity=MaturityView(
                internal=2.4,
                external=3.5,
                stage="externally mature",
                next_move="Partner with marketing to bring what works outside, inside.",
                previous_stage="laggard",
                placed=(
                    Placed(
                        conversation_key="social-media",
                        title=title,
                        round_number=4,
                        internal=2.4,
                        external=3.5,
                        stage="externally mature",
                    ),
                ),
            ),
        )
    )


class EchoEngine:
    """A stand-in engine: records every event and answers it predictably.

    - text or an answer button ``1``..``5``: a success notice, then the summary;
    - text ``boom``: raises (the routes must apologise, not echo this);
    - other text: a notice repeating it;
    - command ``digest``: a digest to the CIO channel and a notice to the asker;
    - other commands: a notice naming the command;
    - action ``answer_all``: the form; other actions: a notice naming action and value;
    - a form: a notice listing the values (or the form again with an error when empty).
    """

    def __init__(self) -> None:
        self.events: list[InboundEvent] = []

    async def __call__(self, event: InboundEvent) -> list[Outgoing]:
        """Answer one event; replies go where the engine's routing policy sends them."""
        return [
            Outgoing(
                address=reply_address(event, o.message, CHANNEL) or o.address, message=o.message
            )
            if o.address == event.actor
            else o
            for o in self._answer(event)
        ]

    def _answer(self, event: InboundEvent) -> list[Outgoing]:
        self.events.append(event)
        me = event.actor
        if isinstance(event, TextMessage | AnswerGiven):
            given = event.text if isinstance(event, TextMessage) else event.value
            if given == "boom":
                raise RuntimeError("secret internals: db password is hunter2")
            if given.strip() in {"1", "2", "3", "4", "5"}:
                thanks = Notice(
                    level="success", title="Saved", lines=(f"You rated it {given.strip()}/5.",)
                )
                return [
                    Outgoing(address=me, message=thanks),
                    Outgoing(address=me, message=summary()),
                ]
            echo = Notice(title="You said", lines=(given,))
            return [Outgoing(address=me, message=echo)]
        if isinstance(event, CommandInvoked):
            if event.text == "digest":
                done = Notice(level="success", lines=("Digest posted to #cio.",))
                return [
                    Outgoing(address=CHANNEL, message=digest()),
                    Outgoing(address=me, message=done),
                ]
            unknown = Notice(level="error", title="Unknown command", lines=(event.text,))
            return [Outgoing(address=me, message=unknown)]
        if isinstance(event, ActionPressed):
            if event.action == "answer_all":
                return [Outgoing(address=me, message=form())]
            pressed = Notice(lines=(f"{event.action} round {event.round_id} value {event.value}",))
            return [Outgoing(address=me, message=pressed)]
        if isinstance(event, FormSubmitted):
            if not event.values:
                again = form(errors={"listening": "This question needs an answer."})
                return [Outgoing(address=me, message=again)]
            lines = tuple(f"{k}={v!r}" for k, v in sorted(event.values.items()))
            return [Outgoing(address=me, message=Notice(title="Form saved", lines=lines))]
        return []
