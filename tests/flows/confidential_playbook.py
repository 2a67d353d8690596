"""A playbook with confidential questions, shared by the confidentiality tests.

Social Liability is confidential as a whole to the CIO and general counsel (Gia, who is
neither CIO nor admin); in Social Media only the listening question is, and to general
counsel alone, so the CIO is not entitled to it. Every answer below is a sentence nobody
else types, so a test can scan anything rendered for it.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.engine import PLAYBOOK

CIO = "console:cio"
ADMIN = "console:admin"
COUNSEL = "console:gia"
CHANNEL = "console:#cio"
LEGAL = ("console:lee", "console:kim", "console:ana")

RISK_SAID = ("Ex-employees keep admin rights on the forum", "Nobody archives the chats")
HEARING_SAID = "Customers quote our leaked roadmap back at us"
EXPOSURE = (2, 4, 5)  # their mean, 3.67, must not show where the answers may not
INCIDENTS = (7, 9, 11)


def confidential_playbook() -> dict[str, Any]:
    """The test playbook, with its confidential conversation and question."""
    playbook = copy.deepcopy(PLAYBOOK)
    playbook["roles"]["general_counsel"] = [COUNSEL]
    playbook["groups"]["legal"]["members"] = [
        {"id": "console:lee", "name": "Lee (Counsel)"},
        {"id": "console:kim", "name": "Kim (Security)"},
        {"id": "console:ana", "name": "Ana (Records)"},
    ]
    liability = playbook["conversations"][1]
    liability.update(
        anonymous=False,
        confidential=["cio", "general_counsel"],
        close_when_all_answered=True,
        questions=[
            {"id": "risk", "text": "What risk worries you most?"},
            {
                "id": "exposure",
                "text": "How exposed are we?",
                "type": "rating",
                "maturity": "internal",
            },
            {"id": "incidents", "text": "Incidents this quarter?", "type": "number"},
            {
                "id": "owner",
                "text": "Who should own it?",
                "type": "single_choice",
                "options": ["Legal", "IT", "HR"],
            },
        ],
    )
    media = playbook["conversations"][0]
    media["questions"][0]["confidential"] = ["general_counsel"]
    return playbook
