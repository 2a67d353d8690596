"""A labelled sample: one round of all six default conversations, as 17 people might write it.

The answers are written for the tests, the way people answer in chat (typos of case,
plurals, a link, an emoji, an aside); `TOPICS` is what a careful reader lists after reading
them all, each with the ways people wrote it. The issue's planted findings are all here:
Twitter comes up in four conversations, shadow tools (WhatsApp, Trello, private Slack
workspaces) in two, records retention in two, an IP worry in Social Innovation that belongs
to Social Liability, and a business leader's blocked Facebook request that belongs to Social
Technologies' sourcing discussion.

`bench/themes.py` measures precision and recall of the themes on it;
`tests/flows/seeded_history.py` plants it as the third round's text answers, so the
digest and the `consistency` command can be checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Written:
    """One text answer: who wrote it, where, to which question."""

    person: str  # the default playbook's console name ("maria")
    conversation: str
    question: str
    text: str


ANSWERS: tuple[Written, ...] = (
    # Social Media: marketing, PR and sales.
    Written(
        "sam",
        "social-media",
        "hearing",
        "Most of the noise is on Twitter: customers post photos of late deliveries and tag"
        " our brand. The fan page on Facebook is quieter but more loyal.",
    ),
    Written(
        "peter",
        "social-media",
        "hearing",
        "Journalists pick up complaints from twitter within hours now. Our response time there"
        " is what gets quoted, not the product. https://example.com/press/clip-1234",
    ),
    Written(
        "maria",
        "social-media",
        "hearing",
        "Buyers ask about us on LinkedIn before a demo. I asked IT to open a Facebook page"
        " for the sales team and the request was blocked, nobody said which tool we may use.",
    ),
    Written(
        "maria",
        "social-media",
        "goals",
        "Agree a response time for Twitter mentions with support by the end of the month.",
    ),
    # Social Networking: HR, marketing/sales, operations.
    Written(
        "hannah",
        "social-networking",
        "hearing",
        "New hires cannot find experts; they ask in WhatsApp groups because the intranet"
        " search is useless. An expert directory would help.",
    ),
    Written(
        "peter",
        "social-networking",
        "hearing",
        "People follow our leaders on LinkedIn more than on the intranet 🙃",
    ),
    Written(
        "omar",
        "social-networking",
        "hearing",
        "Operations teams swap shift tips in WhatsApp and private Slack workspaces; the"
        " knowledge is lost when someone leaves.",
    ),
    Written(
        "sam",
        "social-networking",
        "blockers",
        "No expert directory, and Trello boards nobody else can see.",
    ),
    Written(
        "maria",
        "social-networking",
        "blockers",
        "Competitors' engineers answer questions about us on Twitter faster than our own"
        " people find the answer internally.",
    ),
    # Social Support: owners of support processes.
    Written(
        "sofia",
        "social-support",
        "hearing",
        "Customers report outages on Twitter first. We only see them when someone forwards a"
        " screenshot. The support forum has answers from other customers that we never check.",
    ),
    Written(
        "tim",
        "social-support",
        "hearing",
        "Long response times on the support forum: questions sit for two days. Power users on"
        " the Support Forum answer faster than we do.",
    ),
    Written(
        "sofia",
        "social-support",
        "next-step",
        "Monitor twitter mentions with alerts and cut our response time to four hours. Owner: me.",
    ),
    Written(
        "tim",
        "social-support",
        "next-step",
        "Give the best support forum members moderator rights.",
    ),
    # Social Innovation: R&D.
    Written(
        "rahul",
        "social-innovation",
        "hearing",
        "Partners suggest features in the crowdsourcing pilot, but we have no way to reward them.",
    ),
    Written(
        "rosa",
        "social-innovation",
        "hearing",
        "Customers on the support forum describe workarounds that are really feature ideas.",
    ),
    Written(
        "rahul",
        "social-innovation",
        "ip-concerns",
        "If a partner posts an idea in the crowdsourcing pilot, who owns the IP? Legal has not"
        " told us.",
    ),
    Written(
        "rosa",
        "social-innovation",
        "ip-concerns",
        "IP ownership of ideas from customers worries me; we need terms before the crowdsourcing"
        " pilot invites more.",
    ),
    # Social Technologies: IT and business leaders who care about tools.
    Written(
        "ian",
        "social-technologies",
        "hearing",
        "Shadow tools everywhere: WhatsApp groups, Trello boards, private Slack workspaces."
        " None of them has single sign-on.",
    ),
    Written(
        "irene",
        "social-technologies",
        "hearing",
        "Records retention is the blocker for any SaaS platform: legal wants chats kept seven"
        " years. Shadow tools make it worse.",
    ),
    Written(
        "bella",
        "social-technologies",
        "hearing",
        "My team wanted a Facebook page and a scheduling tool; IT blocked the request and"
        " offered nothing instead. So people use their own Trello.",
    ),
    Written(
        "ian",
        "social-technologies",
        "goals",
        "Single sign-on for the two pilots by March.",
    ),
    Written(
        "irene",
        "social-technologies",
        "goals",
        "Monitor Twitter and the support forum from one dashboard for support.",
    ),
    # Social Liability: legal, security, privacy and records (anonymous).
    Written(
        "lena",
        "social-liability",
        "hearing",
        "Records retention rules do not cover chat or Twitter direct messages.",
    ),
    Written(
        "stefan",
        "social-liability",
        "hearing",
        "Personal data shared in WhatsApp groups by staff is a real exposure, and without single"
        " sign-on leavers keep access.",
    ),
    Written(
        "priya",
        "social-liability",
        "hearing",
        "Personal data of customers appears in screenshots posted on the support forum.",
    ),
    Written(
        "rick",
        "social-liability",
        "incidents",
        "Two teams deleted chat history that records retention says must be kept.",
    ),
    Written(
        "carl",
        "social-liability",
        "incidents",
        "<script>alert(1)</script> was pasted into a post by a tester; no harm done.",
    ),
)

# Regina (Chief Regulatory Officer) did not answer: 17 people answered. (In the seeded
# history Sam also sits out Social Media's round 3, so his answer there is not planted.)
ABSENT = ("regina",)

#: What a careful reader lists, each with the ways people wrote it.
TOPICS: dict[str, tuple[str, ...]] = {
    "Twitter": ("Twitter",),
    "response time": ("response time",),
    "support forum": ("support forum",),
    "shadow tools": ("shadow tools", "shadow tool"),
    "WhatsApp groups": ("WhatsApp groups", "WhatsApp"),
    "Trello": ("Trello", "Trello boards"),
    "private Slack workspaces": ("private Slack workspaces", "Slack workspaces"),
    "records retention": ("records retention",),
    "personal data": ("personal data",),
    "IP ownership": ("IP", "IP ownership", "intellectual property"),
    "crowdsourcing pilot": ("crowdsourcing pilot", "crowdsourcing"),
    "expert directory": ("expert directory",),
    "single sign-on": ("single sign-on",),
    "Facebook page": ("Facebook page", "Facebook"),
    "LinkedIn": ("LinkedIn",),
}

#: Topics raised in two or more conversations, and where.
ACROSS: dict[str, frozenset[str]] = {
    "Twitter": frozenset(
        {
            "social-media",
            "social-networking",
            "social-support",
            "social-technologies",
            "social-liability",
        }
    ),
    "shadow tools": frozenset({"social-technologies"}),  # one conversation only: not across
    "WhatsApp groups": frozenset({"social-networking", "social-technologies", "social-liability"}),
    "records retention": frozenset({"social-technologies", "social-liability"}),
    "support forum": frozenset(
        {"social-support", "social-innovation", "social-technologies", "social-liability"}
    ),
    "Facebook page": frozenset({"social-media", "social-technologies"}),
}

#: Hand-offs a careful reader would make: (raised in, belongs to, about).
HANDOFFS: tuple[tuple[str, str, str], ...] = (
    ("social-innovation", "social-liability", "IP"),
    ("social-media", "social-technologies", "tool"),
    ("social-technologies", "social-liability", "records retention"),
)
