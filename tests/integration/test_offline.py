"""Offline messages and business hours on a real server, with a real SMTP
server (aiosmtpd on loopback, started here):

* a message left in the help box is stored and the visitor's copy arrives
  (To, Reply-To, Subject, the words they wrote); the queue's reps list it;
* a rep answers: the e-mail reaches the SMTP server with the right To,
  Reply-To and Subject, the message is marked answered by them, an audit
  entry is written; a second rep's answer is a conflict naming the first;
* the SMTP server down: the rep gets ``mail_failed`` with the reason, the
  message stays unanswered, and answering works once it is back;
* a queue outside its hours: the help box is told (open false, next
  opening), a live chat submit is refused with ``conflict_desk_closed``;
* without an SMTP server: no message can be left (``mail_unavailable``) and
  the console is told why answering is unavailable;
* every limit: message and answer length, messages per address, unanswered
  messages per queue, intervals per day and holidays.
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess
from desklink.testing_mail import MailServer

PROVIDER = "Acme Support"
FROM = "Acme Help <help@acme.example>"
REPLY_TO = "support@acme.example"
ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def closed_now() -> dict[str, Any]:
    """Hours that are closed for yesterday, today and tomorrow (UTC), open on other days."""
    today = datetime.now(UTC).date()
    days = [(today + timedelta(days=n)).isoformat() for n in (-1, 0, 1)]
    return {"tz": "UTC", "weekly": ALL_DAY, "holidays": days}


@pytest.fixture(scope="module")
def mailbox() -> Iterator[MailServer]:
    with MailServer() as m:
        yield m


def _mail_env(mailbox: MailServer) -> dict[str, str]:
    return {
        **ONE_ADDRESS_ENV,
        **mailbox.env,
        "DESKLINK_SMTP_FROM": FROM,
        "DESKLINK_OFFLINE_REPLY_TO": REPLY_TO,
        "DESKLINK_PROVIDER_NAME": PROVIDER,
    }


@pytest.fixture(scope="module")
def server(mailbox: MailServer) -> Iterator[ServerProcess]:
    with ServerProcess(env=_mail_env(mailbox)) as srv:
        yield srv


_OPEN: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _rep(server: ServerProcess, admin: AdminAPI, queue: dict[str, Any], name: str) -> tuple[httpx.Client, dict[str, Any]]:
    password = "pw-" + secrets.token_hex(8)
    user = admin.user(f"{name.lower()}{secrets.token_hex(3)}", password, display_name=name)
    admin.members(queue["id"], [*admin.queue(queue["slug"])["members"], user["id"]])
    client, _ = server.login(user["username"], password)
    _OPEN.append(client)
    return client, user


def _leave(http: httpx.Client, slug: str, **fields: str) -> httpx.Response:
    body = {"queue": slug, "name": "Vera Visitor", "email": "vera@example.org", "message": "My invoice is wrong.", **fields}
    return http.post("/api/visitor/offline", json=body)


def _text(m: Any) -> str:
    return str(m.get_content()).replace("\r\n", "\n")


def _for(address: str, subject_start: str) -> Any:
    return lambda m: m["To"] == address and str(m["Subject"]).startswith(subject_start)


def test_message_is_stored_copy_arrives_and_reps_answer_once(
    server: ServerProcess, admin: AdminAPI, mailbox: MailServer
) -> None:
    q = admin.queue("billing", origins=[])
    rita, rita_user = _rep(server, admin, q, "Rita")
    sam, _ = _rep(server, admin, q, "Sam")
    with httpx.Client(base_url=server.url) as visitor:
        config = visitor.get("/api/widget/config", params={"queue": "billing"}).json()
        assert config["desk"] == {
            "open": True, "next_opening": None, "tz": "UTC", "online_reps": 0, "offline": {"email": True},
        }
        r = _leave(visitor, "billing", email="vera@example.org", message="Invoice 42 charges me twice.\nPlease fix.")
        assert r.status_code == 201, r.text
        assert r.json()["copy_sent"] is True
        msg_id = r.json()["id"]

    copy = mailbox.wait_for(_for("vera@example.org", "Your message"), what="the visitor's copy")
    assert copy["From"] == FROM
    assert copy["Reply-To"] == REPLY_TO
    assert copy["Subject"] == f"Your message to {PROVIDER} (Billing)"
    text = _text(copy)
    assert "> Invoice 42 charges me twice.\n> Please fix." in text
    assert "answer you by e-mail" in text

    listed = rita.get("/api/offline").json()
    assert listed["unanswered"] >= 1 and listed["mail"] == {"configured": True, "why_not": None}
    mine = [m for m in listed["messages"] if m["id"] == msg_id]
    assert mine and mine[0]["name"] == "Vera Visitor" and mine[0]["copy_sent"] and mine[0]["answered_at"] is None

    # A rep of another queue does not see it and cannot answer it.
    other_q = admin.queue("other-" + secrets.token_hex(3))
    outsider, _ = _rep(server, admin, other_q, "Otto")
    assert msg_id not in [m["id"] for m in outsider.get("/api/offline").json()["messages"]]
    assert outsider.post(f"/api/offline/{msg_id}/answer", json={"body": "hi"}).status_code == 404

    r = rita.post(f"/api/offline/{msg_id}/answer", json={"body": "Refunded the second charge, sorry!"})
    assert r.status_code == 200, r.text
    assert r.json()["message"]["answered_by"] == "Rita"
    answer = mailbox.wait_for(_for("vera@example.org", "Re: "), what="the answer")
    assert answer["From"] == FROM
    assert answer["Reply-To"] == REPLY_TO
    assert answer["Subject"] == f"Re: Your message to {PROVIDER} (Billing)"
    body = _text(answer)
    assert body.startswith("Refunded the second charge, sorry!")
    assert "Rita, Acme Support" in body and "> Invoice 42 charges me twice." in body

    # The second answer is a conflict naming the first rep; nothing more is sent.
    sent = len(mailbox.messages())
    r = sam.post(f"/api/offline/{msg_id}/answer", json={"body": "Me too"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict_answered"
    assert "Rita" in r.json()["error"]["message"]
    assert len(mailbox.messages()) == sent

    done = [m for m in rita.get("/api/offline", params={"state": "answered"}).json()["messages"] if m["id"] == msg_id]
    assert done[0]["answered_by"] == "Rita" and done[0]["answer"] == "Refunded the second charge, sorry!"
    assert msg_id not in [m["id"] for m in rita.get("/api/offline").json()["messages"]]
    audit = admin.http.get("/api/admin/audit").json()["entries"]
    entry = next(e for e in audit if e["action"] == "offline.answered" and msg_id in e["target"])
    assert entry["actor_id"] == rita_user["id"] and entry["data"]["to"] == "vera@example.org"


def test_two_reps_answering_at_once_send_one_answer(server: ServerProcess, admin: AdminAPI, mailbox: MailServer) -> None:
    q = admin.queue("duo", origins=[])
    reps = [_rep(server, admin, q, name)[0] for name in ("Ann", "Ben")]
    with httpx.Client(base_url=server.url) as visitor:
        msg_id = _leave(visitor, "duo", email="duo@example.org").json()["id"]
    mailbox.wait_for(_for("duo@example.org", "Your message"), what="the copy")
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: c.post(f"/api/offline/{msg_id}/answer", json={"body": "One answer"}), reps))
    assert sorted(r.status_code for r in answers) == [200, 409]
    refused = next(r for r in answers if r.status_code == 409)
    assert refused.json()["error"]["code"] in ("conflict_answered", "conflict_answering")
    winner = next(r for r in answers if r.status_code == 200).json()["message"]["answered_by"]
    assert winner in refused.json()["error"]["message"]
    # Exactly one answer went out (the copy came before).
    mailbox.wait_for(_for("duo@example.org", "Re: "), what="the answer")
    assert len([m for m in mailbox.messages() if m["To"] == "duo@example.org" and str(m["Subject"]).startswith("Re: ")]) == 1


def test_smtp_down_keeps_the_message_unanswered(server: ServerProcess, admin: AdminAPI, mailbox: MailServer) -> None:
    q = admin.queue("returns", origins=[])
    rita, _ = _rep(server, admin, q, "Rita")
    mailbox.stop()
    try:
        with httpx.Client(base_url=server.url) as visitor:
            r = _leave(visitor, "returns", email="walt@example.org", message="Where is my parcel?")
        # Kept although the copy could not go out; the visitor is told.
        assert r.status_code == 201 and r.json()["copy_sent"] is False
        msg_id = r.json()["id"]
        r = rita.post(f"/api/offline/{msg_id}/answer", json={"body": "It is on its way."})
        assert r.status_code == 502 and r.json()["error"]["code"] == "mail_failed"
        assert f"127.0.0.1:{mailbox.port}" in r.json()["error"]["message"] and "unanswered" in r.json()["error"]["message"]
        still = [m for m in rita.get("/api/offline").json()["messages"] if m["id"] == msg_id]
        assert still and still[0]["answered_at"] is None and still[0]["copy_sent"] is False
    finally:
        mailbox.start()
    r = rita.post(f"/api/offline/{msg_id}/answer", json={"body": "It is on its way."})
    assert r.status_code == 200, r.text
    answer = mailbox.wait_for(_for("walt@example.org", "Re: "), what="the answer once the server is back")
    assert _text(answer).startswith("It is on its way.")


def test_closed_hours_tell_the_help_box_and_refuse_live_chat(server: ServerProcess, admin: AdminAPI) -> None:
    q = admin.queue("nightdesk", origins=[])
    r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"hours": closed_now()})
    assert r.status_code == 200, r.text
    assert r.json()["queue"]["hours"]["holidays"] == closed_now()["holidays"]
    with httpx.Client(base_url=server.url) as visitor:
        desk = visitor.get("/api/widget/config", params={"queue": "nightdesk"}).json()["desk"]
        assert desk["open"] is False
        opens = datetime.fromisoformat(desk["next_opening"])
        assert opens == datetime.combine(datetime.now(UTC).date() + timedelta(days=2), datetime.min.time(), UTC)
        r = visitor.post("/api/visitor/requests", json={"queue": "nightdesk", "name": "Nat", "question": "Open?"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict_desk_closed"
        assert "leave a message" in r.json()["error"]["message"]
        # A message is still welcome.
        assert _leave(visitor, "nightdesk").status_code == 201

    # Audited; bad hours are refused in words and change nothing.
    audit = admin.http.get("/api/admin/audit").json()["entries"]
    assert any(e["action"] == "queue.hours" and e["target"] == "queue nightdesk" for e in audit)
    for bad, words in [
        ({"tz": "Mars/Olympus"}, "not a time zone"),
        ({"weekly": {"mon": [["09:00", "25:00"]]}}, "not a time like"),
        ({"weekly": {"funday": [["09:00", "10:00"]]}}, "unknown days"),
        ({"weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "overlap"),
        ({"holidays": ["2026-13-01"]}, "not a date"),
    ]:
        r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"hours": bad, "name": "Changed"})
        assert r.status_code == 400 and words in r.json()["error"]["message"], (bad, r.text)
    assert admin.queue("nightdesk")["name"] == "Nightdesk"
    # Open again: always open with {}.
    r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"hours": {}})
    assert r.json()["queue"]["hours"] == {}
    with httpx.Client(base_url=server.url) as visitor:
        assert visitor.get("/api/widget/config", params={"queue": "nightdesk"}).json()["desk"]["open"] is True


def test_bad_messages_are_refused(server: ServerProcess, admin: AdminAPI) -> None:
    admin.queue("support", origins=[])
    with httpx.Client(base_url=server.url) as visitor:
        for fields, code in [
            ({"email": ""}, "bad_message"),
            ({"email": "not an address"}, "bad_message"),
            ({"email": "a@b.example, c@d.example"}, "bad_message"),
            ({"email": "a@b.example\r\nBcc: x@y.example"}, "bad_message"),
            ({"name": "  "}, "bad_message"),
            ({"message": ""}, "bad_message"),
        ]:
            r = _leave(visitor, "support", **fields)
            assert r.status_code == 400 and r.json()["error"]["code"] == code, (fields, r.text)
        r = visitor.post("/api/visitor/offline", json={"queue": "support", "name": "X"})
        assert r.status_code == 400
        assert _leave(visitor, "no-such-queue").status_code == 404


# ----------------------------------------------------------------- limits
LIMITS = {
    "DESKLINK_OFFLINE_MESSAGES_PER_IP": "3",
    "DESKLINK_OFFLINE_MESSAGE_CHARS": "200",
    "DESKLINK_OFFLINE_ANSWER_CHARS": "300",
    "DESKLINK_OFFLINE_PENDING_PER_QUEUE": "4",
    "DESKLINK_HOURS_INTERVALS_PER_DAY": "2",
    "DESKLINK_HOURS_HOLIDAYS": "3",
    "DESKLINK_OFFLINE_PAGE": "3",
}


@pytest.fixture(scope="module")
def limited(mailbox: MailServer) -> Iterator[ServerProcess]:
    with ServerProcess(env={**_mail_env(mailbox), **LIMITS}) as srv:
        yield srv


def _from(address: str, server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, transport=httpx.HTTPTransport(local_address=address))


def test_limits(limited: ServerProcess, mailbox: MailServer) -> None:
    admin = AdminAPI(limited)
    try:
        q = admin.queue("small", origins=[])
        rep, _ = _rep(limited, admin, q, "Rita")
        with _from("127.0.0.2", limited) as abuser, _from("127.0.0.1", limited) as bystander:
            # offline_message_chars
            assert _leave(abuser, "small", message="x" * 201).status_code == 413
            first = _leave(abuser, "small", message="x" * 200)
            assert first.status_code == 201
            # offline_messages_per_ip: 3 per window from one address (the refused one above did not count)
            assert _leave(abuser, "small").status_code == 201
            assert _leave(abuser, "small").status_code == 201
            r = _leave(abuser, "small")
            assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and "offline_messages_per_ip" in r.json()["error"]["message"]
            assert int(r.headers["retry-after"]) > 0
            # another address is not affected: the fourth unanswered message of the queue
            assert _leave(bystander, "small").status_code == 201
            # offline_pending_per_queue: 4 unanswered at most
            r = _leave(bystander, "small")
            assert r.status_code == 409 and r.json()["error"]["code"] == "conflict_full"
            # offline_answer_chars
            msg_id = first.json()["id"]
            r = rep.post(f"/api/offline/{msg_id}/answer", json={"body": "y" * 301})
            assert r.status_code == 413
            assert rep.get("/api/offline").json()["unanswered"] == 4
            assert rep.post(f"/api/offline/{msg_id}/answer", json={"body": "y" * 300}).status_code == 200
            # answered, one place is free again
            assert _leave(bystander, "small").status_code == 201
            # offline_page: a list shows at most 3, newest first; the count is of all
            listed = rep.get("/api/offline", params={"state": "all"}).json()
            assert len(listed["messages"]) == 3 and listed["unanswered"] == 4
            assert listed["messages"][0]["at"] >= listed["messages"][-1]["at"]
        # hours_intervals_per_day and hours_holidays
        three = [["08:00", "09:00"], ["10:00", "11:00"], ["12:00", "13:00"]]
        r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"hours": {"weekly": {"mon": three}}})
        assert r.status_code == 400 and "at most 2" in r.json()["error"]["message"]
        r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"hours": {"weekly": {"mon": three[:2]}}})
        assert r.status_code == 200
        days = ["2030-01-01", "2030-01-02", "2030-01-03", "2030-01-04"]
        r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"hours": {"holidays": days}})
        assert r.status_code == 400 and "at most 3" in r.json()["error"]["message"]
        assert admin.http.patch(f"/api/admin/queues/{q['id']}", json={"hours": {"holidays": days[:3]}}).status_code == 200
    finally:
        admin.close()


def test_without_smtp_no_message_is_promised() -> None:
    with ServerProcess(env=ONE_ADDRESS_ENV) as srv:
        admin = AdminAPI(srv)
        try:
            q = admin.queue("support", origins=[])
            rep, _ = _rep(srv, admin, q, "Rita")
            with httpx.Client(base_url=srv.url) as visitor:
                desk = visitor.get("/api/widget/config", params={"queue": "support"}).json()["desk"]
                assert desk["offline"] == {"email": False}
                r = _leave(visitor, "support")
                assert r.status_code == 503 and r.json()["error"]["code"] == "mail_unavailable"
            listed = rep.get("/api/offline").json()
            assert listed["messages"] == [] and listed["mail"]["configured"] is False
            assert "no SMTP server configured" in listed["mail"]["why_not"]
        finally:
            admin.close()
