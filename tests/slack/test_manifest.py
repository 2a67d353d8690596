"""manifest.yml is what a user pastes into Slack's "Create from manifest": keep it working."""

from pathlib import Path

import yaml

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "manifest.yml").read_text())


def test_slash_command_events_and_interactivity_share_the_bolt_url() -> None:
    (command,) = MANIFEST["features"]["slash_commands"]
    settings = MANIFEST["settings"]
    urls = {
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    }
    assert command["command"] == "/strategy"
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
    assert settings["interactivity"]["is_enabled"]


def test_scopes_match_what_the_adapter_calls() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    # chat.postMessage, /strategy, message.im events, conversations.open; and
    # conversations.history in DMs and channels, to find a redelivered message already posted
    delivery = {"chat:write", "commands", "im:history", "im:write"}
    redelivery = {"channels:history", "groups:history"}
    # bot/adapters/slack/directory.py: usergroups.users.list, conversations.members on
    # public and private channels, users.info, users.lookupByEmail
    directory = {"usergroups:read", "channels:read", "groups:read", "users:read"}
    # files_upload_v2 of an export (bot/adapters/slack/adapter.py)
    files = {"files:write"}
    assert scopes == delivery | redelivery | directory | files | {"users:read.email"}
    assert set(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "message.im",
        "app_uninstalled",  # bot/adapters/slack/install.py stops sending there
        "tokens_revoked",
    }
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"]


def test_install_scopes_are_the_manifests() -> None:
    from bot.adapters.slack.install import BOT_SCOPES, REDIRECT_PATH

    assert set(BOT_SCOPES) == set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert "user" not in MANIFEST["oauth_config"]["scopes"]
    (redirect,) = MANIFEST["oauth_config"]["redirect_urls"]
    assert redirect.endswith(REDIRECT_PATH)
