"""The optional language-model summary, against a fake OpenAI-compatible endpoint on loopback.

The fake is the far side of a network boundary, shaped like the real API: `POST
/v1/chat/completions` with a JSON body, a bearer key, and `choices[0].message.content` in
the answer. What it receives is what would leave the company's network.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.app import summariser_of
from bot.config import load_settings
from bot.errors import ConfigError
from bot.flows.engine import EngineHooks
from bot.flows.outbound import ConsistencyMessage, DigestMessage
from bot.flows.summary import OpenAICompatible
from bot.presentation.views import build_view
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness
from tests.flows.seeded_history import seed

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
NAMES = ("Maria", "Peter", "Sofia", "Rahul", "Rosa", "Ian", "Irene", "Bella", "Hannah", "Lena")
GROUPS = ("Marketing, PR and sales leaders", "IT leaders", "Legal, regulatory")


class FakeModel:
    """A loopback OpenAI-compatible endpoint: records requests, answers or stalls."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.delay = 0.0
        self.reply: Any = "Twitter and records retention recur across conversations."
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                fake.requests.append(
                    {
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                time.sleep(fake.delay)
                payload = json.dumps(
                    {
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": fake.reply}}
                        ]
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def fake_model() -> Iterator[FakeModel]:
    fake = FakeModel()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def seeded_with(db: Database, summariser: OpenAICompatible | None) -> EngineHarness:
    bot = seed(db, FakeClock(START))
    bot.engine.hooks = EngineHooks(summariser=summariser)
    return bot


def test_configured_it_summarises_and_sends_no_identity(
    db: Database, fake_model: FakeModel
) -> None:
    model = OpenAICompatible(base_url=fake_model.url, model="small-model", api_key="sk-test-123")
    bot = seeded_with(db, model)
    (reply,) = bot.command("console:cio", "consistency")
    assert isinstance(reply, ConsistencyMessage)
    c = reply.consistency
    assert c.summary == "Twitter and records retention recur across conversations."
    assert c.summary_source == "127.0.0.1"
    (request,) = fake_model.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test-123"
    assert request["body"]["model"] == "small-model"
    sent = json.dumps(request["body"])
    assert "records retention" in sent and "[Social Liability]" in sent
    for name in NAMES:  # nobody's name, in anonymous and named conversations alike
        assert name not in sent
    for group in GROUPS:
        assert group not in sent
    text = repr(build_view(reply))
    assert "Summary by the language model at 127.0.0.1" in text
    # The offline themes are still there.
    assert c.themes and c.across


def test_digest_all_carries_the_summary_too(db: Database, fake_model: FakeModel) -> None:
    bot = seeded_with(db, OpenAICompatible(base_url=fake_model.url, model="m"))
    (reply,) = bot.command("console:cio", "digest all")
    assert isinstance(reply, DigestMessage) and reply.digest.consistency is not None
    assert reply.digest.consistency.summary is not None
    (_one,) = bot.command("console:cio", "digest social-media")  # one conversation: no call
    assert len(fake_model.requests) == 1


def test_a_slow_endpoint_falls_back_to_the_themes(db: Database, fake_model: FakeModel) -> None:
    fake_model.delay = 1.0
    bot = seeded_with(db, OpenAICompatible(base_url=fake_model.url, model="m", timeout=0.2))
    (reply,) = bot.command("console:cio", "consistency")
    assert isinstance(reply, ConsistencyMessage)
    c = reply.consistency
    assert c.summary is None and c.summary_failed
    assert c.themes and c.across and c.handoffs
    assert "No summary this time: 127.0.0.1 gave none" in repr(build_view(reply))


def test_an_answer_not_shaped_like_the_api_falls_back(db: Database, fake_model: FakeModel) -> None:
    fake_model.reply = {"not": "text"}
    bot = seeded_with(db, OpenAICompatible(base_url=fake_model.url, model="m"))
    (reply,) = bot.command("console:cio", "consistency")
    assert isinstance(reply, ConsistencyMessage)
    assert reply.consistency.summary is None and reply.consistency.summary_failed


def test_off_unless_configured(db: Database, fake_model: FakeModel) -> None:
    assert summariser_of(load_settings()) is None
    assert summariser_of(load_settings(SUMMARY_URL=fake_model.url)) is None  # no model
    configured = summariser_of(load_settings(SUMMARY_URL=fake_model.url, SUMMARY_MODEL="m"))
    assert isinstance(configured, OpenAICompatible)
    with pytest.raises(ConfigError, match="SUMMARY_URL"):
        load_settings(SUMMARY_URL="ftp://example.com", SUMMARY_MODEL="m")
    bot = seeded_with(db, None)
    (reply,) = bot.command("console:cio", "consistency")
    assert isinstance(reply, ConsistencyMessage)
    assert reply.consistency.summary is None and not reply.consistency.summary_failed
    assert fake_model.requests == []
