"""The agent's decision after its socket closed (agent/relay_link.py): a
pure function of the close code and reason."""

from __future__ import annotations

import json

import pytest

from desklink.agent.relay_link import Reconnect, after_close, http_base
from desklink.agent.session import AgentSession
from desklink.protocol import codes

AGAIN_LATER = Reconnect(final=False, reask=True, at_once=False)
NEW_TICKET_NOW = Reconnect(final=False, reask=True, at_once=True, needs_ticket=True)
FINAL = Reconnect(final=True, reask=False, at_once=False)


@pytest.mark.parametrize("code", [None, 1006, 1011, 1012, codes.CLOSE_GOING_AWAY])
def test_a_lost_link_asks_again_after_the_backoff(code: int | None) -> None:
    assert after_close(code, "") == AGAIN_LATER


def test_a_draining_node_is_left_at_once() -> None:
    assert after_close(codes.CLOSE_RECONNECT, "the node is draining") == Reconnect(final=False, reask=True, at_once=True)


def test_another_relay_node_holds_the_session_needs_a_new_ticket() -> None:
    assert after_close(codes.CLOSE_OTHER_RELAY, "another relay node holds this session") == NEW_TICKET_NOW


def test_an_expired_token_needs_a_new_ticket() -> None:
    assert after_close(codes.CLOSE_RELAY_TOKEN, "relay token expired") == NEW_TICKET_NOW


@pytest.mark.parametrize(
    "reason", ["relay token forged", "relay token for another session", "relay token for another role", ""]
)
def test_a_forged_or_other_session_token_is_final(reason: str) -> None:
    assert after_close(codes.CLOSE_RELAY_TOKEN, reason) == FINAL


@pytest.mark.parametrize(
    "code", [codes.CLOSE_AUTH, codes.CLOSE_ENDED, codes.CLOSE_LIMITED, codes.CLOSE_POLICY, codes.CLOSE_NORMAL]
)
def test_refusals_and_ends_are_final(code: int) -> None:
    assert after_close(code, "whatever") == FINAL


def test_http_base_of_what_the_visitor_typed() -> None:
    assert http_base("https://help.example.com/") == "https://help.example.com"
    assert http_base("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert http_base("wss://relay.example.com") == "https://relay.example.com"
    assert http_base("help.example.com") == "https://help.example.com"


def test_the_hello_says_what_this_process_keeps() -> None:
    core = AgentSession(code="123456789")
    assert json.loads(core.hello())["code"] == "123456789"
    core.resume = "r-token"
    core.privileges.states["view"] = "suspended"
    core.privileges.states["files"] = "suspended"
    hello = json.loads(core.hello())
    assert hello["resume"] == "r-token" and hello["kept"] == ["view", "files"] and hello["code"] == ""
    core.privileges.states["files"] = "off"
    assert json.loads(core.hello())["kept"] == ["view"]
