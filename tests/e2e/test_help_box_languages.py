"""The help box's languages (issue 14), in a real browser:

* the catalogues: every key of lang/en.js is in lang/de.js and no more, with
  the same {placeholders}; every key the help box's modules look up is in
  en.js (their sources scanned); every system line the server writes
  (protocol/system_lines.py) has its key with the template's vars;
* a visitor whose browser speaks German reads the help box in German (the
  form, the waiting text, the rep's join line from the server's code, the
  chat, the end-chat question), the box's root says lang="de", and the
  rep's console shows "Help box in: German";
* the site owner's data-lang on the script tag wins over the browser.
"""

from __future__ import annotations

import html
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

import desklink
from desklink.protocol.system_lines import LINES
from desklink.testing import AdminAPI, ServerProcess

from _pages import Watched

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)

WIDGET = Path(desklink.__file__).parent / "web" / "widget"
#: t('key'), tn('key', n), say('key') (screen-share.js), and the key tables
#: (RATING_WORDS, RECORDING_NOTICE, CLOSE_TEXT) whose values are keys.
KEY_CALL = re.compile(r"\b(?:t|tn|say)\(\s*'([a-z0-9_.]+)'")
KEY_VALUE = re.compile(r"'((?:rating|offer\.recording|share\.close)\.[a-z0-9_]+)'")
#: Keys made at run time from a server's code: their prefixes.
DYNAMIC = ("system.", "role.", "error.", "file.error.")

CATALOGUES = """async () => {
  const en = (await import('/static/widget/lang/en.js')).default;
  const de = (await import('/static/widget/lang/de.js')).default;
  return { en, de };
}"""


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def _catalogues(page: Page, server: ServerProcess) -> tuple[dict[str, str], dict[str, str]]:
    page.goto(server.url + "/console")
    both = page.evaluate(CATALOGUES)
    return both["en"], both["de"]


def test_every_key_is_translated_and_every_used_key_exists(browser: Browser, server: ServerProcess) -> None:
    w = Watched(browser)
    try:
        en, de = _catalogues(w.page, server)
    finally:
        w.close()
    assert len(en) > 150, len(en)
    assert sorted(set(en) - set(de)) == [], "keys missing in de.js"
    assert sorted(set(de) - set(en)) == [], "keys in de.js that en.js does not have"
    differ = {k: (en[k], de[k]) for k in en if _placeholders(en[k]) != _placeholders(de[k])}
    assert differ == {}, "placeholders differ between en.js and de.js"
    assert all(de[k].strip() for k in de), "an empty German string"

    used: dict[str, str] = {}
    for source in sorted(WIDGET.glob("*.js")):
        text = source.read_text(encoding="utf-8")
        for key in KEY_CALL.findall(text) + KEY_VALUE.findall(text):
            used.setdefault(key, source.name)
    assert len(used) > 100, len(used)
    missing = {k: f for k, f in used.items() if k not in en and f"{k}.other" not in en}
    assert missing == {}, "keys the help box uses that en.js lacks"
    # Plural keys: a .other beside every .one.
    assert [k for k in en if k.endswith(".one") and k[:-4] + ".other" not in en] == []
    # No visitor-visible English left as a literal in the help box's calls of h() and setText().
    literal = re.compile(r"(?:setText\([^,]+,|h\('[a-z0-9]+', \{[^}]*\},)\s*'([A-Z][a-z]+ [^']*)'")
    leftovers = {f.name: literal.findall(f.read_text(encoding="utf-8")) for f in WIDGET.glob("*.js")}
    assert {f: found for f, found in leftovers.items() if found} == {}

    # The server's system lines: a key per code, with the template's vars.
    for code, line in LINES.items():
        key = f"system.{code}"
        assert key in en, key
        assert _placeholders(en[key]) == set(line.vars), key
        assert en[key] == line.template, "the English of a system line is the server's own"
    for prefix in DYNAMIC:
        assert any(k.startswith(prefix) for k in en), prefix


MODULES = """async () => {
  const i18n = await import('/static/widget/i18n.js');
  const { systemText } = await import('/static/widget/system-lines.js');
  const { waitText, watchingWords, errorText } = await import('/static/widget/format.js');
  const out = {};
  out.choose = [
    i18n.chooseLanguage('', ['de-AT', 'en']), i18n.chooseLanguage('', ['fr-FR', 'de']), i18n.chooseLanguage('', ['fr']),
    i18n.chooseLanguage('en', ['de-DE']), i18n.chooseLanguage('DE-ch', ['en']), i18n.chooseLanguage('xx', ['de']),
  ];
  i18n.setLanguage('de');
  out.deJoined = systemText({ code: 'joined', vars: { name: 'Ann <b>' }, text: 'Ann <b> joined the conversation.' });
  out.deWatcher = systemText({ code: 'joined_chat', vars: { name: 'Sue', role: 'supervisor' }, text: 'x' });
  out.deOddRole = systemText({ code: 'joined_chat', vars: { name: 'Sue', role: 'owner' }, text: 'x' });
  out.unknown = systemText({ code: 'from_a_newer_server', vars: {}, text: 'English as sent.' });
  out.noCode = systemText({ text: 'Plain.' });
  out.deWait = [waitText(30), waitText(300), waitText(null)];
  out.deWatch = watchingWords([{ name: 'Sue', role: 'supervisor' }, { name: 'Bob', role: 'admin' }]);
  out.deError = [errorText('rate_limited', 'slow down'), errorText('some_new_code', 'As the server says.'), errorText('', '')];
  out.missing = i18n.t('no.such.key', { a: 1 });
  i18n.setLanguage('en');
  out.enWait = [waitText(30), waitText(300)];
  out.enJoined = systemText({ code: 'joined', vars: { name: 'Ann' }, text: 'Ann joined the conversation.' });
  return out;
}"""


def test_the_lookups_choose_fall_back_and_count(browser: Browser, server: ServerProcess) -> None:
    w = Watched(browser)
    try:
        w.page.goto(server.url + "/console")
        out = w.page.evaluate(MODULES)
    finally:
        w.close()
    assert out["choose"] == ["de", "de", "en", "en", "de", "de"]
    assert out["deJoined"] == "Ann <b> ist dem Gespräch beigetreten."  # vars are text, filled in as given
    assert out["deWatcher"] == "Sue (Teamleitung) ist dem Chat beigetreten."
    assert out["deOddRole"] == "Sue (owner) ist dem Chat beigetreten."
    assert out["unknown"] == "English as sent."
    assert out["noCode"] == "Plain."
    assert out["deWait"] == [
        "Voraussichtliche Wartezeit etwa 1 Minute", "Voraussichtliche Wartezeit etwa 5 Minuten",
        "Voraussichtliche Wartezeit: sobald jemand frei ist",
    ]
    assert out["deWatch"] == "Sue (Teamleitung) und Bob (Administration) sehen zu"
    assert out["deError"] == [
        "Sie senden zu schnell. Warten Sie einen Moment und versuchen Sie es dann noch einmal.",
        "As the server says.", "Etwas ist schiefgegangen.",
    ]
    assert out["missing"] == "no.such.key"
    assert out["enWait"] == ["Expected wait about 1 min", "Expected wait about 5 min"]
    assert out["enJoined"] == "Ann joined the conversation."


def _console(page: Page, server: ServerProcess, username: str, password: str) -> None:
    page.goto(server.url + "/console")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()
    page.get_by_test_id("presence-toggle").click()
    expect(page.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")


def _page_with_lang(site: HostSite, queue: str, lang: str) -> str:
    """A provider page whose script tag sets data-lang; returns its URL."""
    path = f"/lang-{secrets.token_hex(4)}.html"
    src = html.escape(f"{site.desklink_url}/static/widget/desklink-help.js")
    site.pages[path] = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Acme</title></head><body>"
        f"<script type='module' src='{src}' data-queue='{html.escape(queue)}' data-lang='{html.escape(lang)}'></script>"
        "</body></html>"
    ).encode()
    return site.origin + path


def test_a_german_visitor_reads_german_and_the_rep_sees_it(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    queue = admin.queue(unique, origins=[host_site.origin])
    username, password = f"{unique}rita", "pw-" + secrets.token_hex(8)
    admin.members(queue["id"], [admin.user(username, password, display_name="Rita")["id"]])
    rw = Watched(browser, viewport={"width": 1400, "height": 820})
    vw = Watched(browser, viewport={"width": 900, "height": 900}, locale="de-DE",
                 extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"})
    try:
        rep, visitor = rw.page, vw.page
        assert visitor.evaluate("navigator.languages")[0].startswith("de")
        _console(rep, server, username, password)

        visitor.goto(host_site.page(unique))
        box = visitor.locator("desklink-help")
        expect(box.get_by_test_id("launcher")).to_contain_text("Brauchen Sie Hilfe?")
        box.get_by_test_id("launcher").click()
        # The form, in German; the root says which language it speaks.
        assert box.locator(".dl-root").get_attribute("lang") == "de"
        form = box.get_by_test_id("form")
        expect(form).to_contain_text("Sagen Sie uns, worum es geht")
        expect(form.locator("label[for=dl-name]")).to_have_text("Ihr Name")
        expect(form.locator("label[for=dl-email]")).to_have_text("E-Mail (optional)")
        expect(form.locator("label[for=dl-question]")).to_have_text("Ihre Frage")
        expect(box.get_by_test_id("submit")).to_have_text("Hilfe anfordern")
        expect(box.get_by_test_id("availability")).to_have_text("1 Person ist erreichbar")
        box.get_by_test_id("submit").click()
        expect(box.get_by_test_id("form-error")).to_have_text("Bitte geben Sie Ihren Namen an.")
        visitor.screenshot(path="/tmp/helpbox-de-form.png")
        box.get_by_test_id("name").fill("Vera")
        box.get_by_test_id("question").fill("Mein Drucker druckt leere Seiten")
        box.get_by_test_id("submit").click()

        # Waiting, in German.
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "waiting")
        expect(box.get_by_test_id("status")).to_have_text("Warten auf eine Ansprechperson")
        expect(box.get_by_test_id("position")).to_have_text("Sie sind Nummer 1 in der Warteschlange")
        expect(box.get_by_test_id("cancel")).to_have_text("Anfrage zurückziehen")
        visitor.screenshot(path="/tmp/helpbox-de-waiting.png")

        # Rita answers: the server's join line, said in German from its code.
        rep.get_by_test_id("alert-accept").click()
        tab = rep.get_by_test_id("session-tab")
        expect(tab).to_have_count(1)
        chat = rep.locator(f'[data-testid=chat][data-session-id="{tab.get_attribute("data-session-id")}"]')
        expect(box.get_by_test_id("status")).to_have_text("Chat mit Rita")
        system = box.locator("[data-testid=message][data-from=system]")
        expect(system).to_have_text(["Rita ist dem Gespräch beigetreten."])
        # The rep's console keeps the English line (the transcript's words).
        expect(chat.locator("[data-testid=message][data-from=system]")).to_have_text(["Rita joined the conversation."])
        # ...and says which language the help box speaks.
        panel = rep.get_by_test_id("visitor-panel")
        expect(panel.get_by_test_id("visitor-help-language")).to_have_text("German")
        expect(panel.locator("dt").filter(has_text="Help box in")).to_have_count(1)
        rep.screenshot(path="/tmp/console-help-language.png")

        # The chat: the visitor's own line is "Sie", the rep's comes in by name.
        box.get_by_test_id("chat-input").fill("Hallo?")
        expect(box.get_by_test_id("chat-input")).to_have_attribute("placeholder", "Ihre Nachricht…")
        expect(box.get_by_test_id("send")).to_have_text("Senden")
        box.get_by_test_id("chat-input").press("Enter")
        mine = box.locator("[data-testid=message][data-from=visitor]")
        expect(mine.get_by_test_id("message-name")).to_have_text(["Sie"])
        expect(chat.locator("[data-testid=message][data-from=visitor]").filter(has_text="Hallo?")).to_have_count(1)
        chat.get_by_test_id("chat-input").fill("Guten Tag, ich sehe es mir an.")
        chat.get_by_test_id("send").click()
        expect(box.locator("[data-testid=message][data-from=rep]").get_by_test_id("message-name")).to_have_text(["Rita"])
        expect(box.get_by_test_id("save-transcript")).to_contain_text("Verlauf speichern:")

        # Rita asks to see the screen: the card and the server's line (code screen_offer, with the join code) in German.
        chat.get_by_test_id("screen-request").click()
        card = box.get_by_test_id("screen-offer")
        expect(card.get_by_test_id("screen-offer-title")).to_have_text("Rita möchte Ihren Bildschirm sehen")
        expect(card.get_by_test_id("screen-offer-note")).to_contain_text("Nichts wird geteilt")
        code = card.get_by_test_id("screen-offer-code").text_content() or ""
        assert code
        expect(system.filter(has_text="möchte Ihren Bildschirm sehen")).to_have_text(
            [re.compile(rf"^Rita möchte Ihren Bildschirm sehen\. .*mit dem Code {re.escape(code)} \(gültig \d+ Minuten\)")]
        )
        visitor.screenshot(path="/tmp/helpbox-de-offer.png")
        card.get_by_test_id("screen-offer-dismiss").click()

        # End chat asks first, in German.
        box.get_by_test_id("leave").click()
        expect(box.get_by_test_id("leave-confirm-text")).to_have_text("Diesen Chat beenden?")
        expect(box.get_by_test_id("leave-cancel")).to_have_text("Abbrechen")
        expect(box.get_by_test_id("leave-end")).to_have_text("Beenden")
        visitor.screenshot(path="/tmp/helpbox-de-chat.png")
        box.get_by_test_id("leave-end").click()
        expect(box.get_by_test_id("status")).to_have_text("Gespräch beendet")
        expect(box.get_by_test_id("end-detail")).to_have_text("Sie haben das Gespräch beendet. Vielen Dank für Ihre Anfrage.")
        expect(box.get_by_test_id("rating-form")).to_contain_text("Wie waren wir?")
        visitor.screenshot(path="/tmp/helpbox-de-end.png")
        assert rw.errors == [] and vw.errors == []
    finally:
        rw.close()
        vw.close()


def test_the_site_owners_lang_wins_over_the_browser(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    admin.queue(unique, origins=[host_site.origin])
    german = Watched(browser, viewport={"width": 900, "height": 900}, locale="de-DE")
    english = Watched(browser, viewport={"width": 900, "height": 900}, locale="en-US")
    try:
        # A German browser on a page that says data-lang="en": English.
        page = german.page
        page.goto(_page_with_lang(host_site, unique, "en"))
        box = page.locator("desklink-help")
        expect(box.get_by_test_id("launcher")).to_contain_text("Need help?")
        assert box.locator(".dl-root").get_attribute("lang") == "en"
        # An English browser on a page that says data-lang="de-AT": German.
        page = english.page
        page.goto(_page_with_lang(host_site, unique, "de-AT"))
        box = page.locator("desklink-help")
        expect(box.get_by_test_id("launcher")).to_contain_text("Brauchen Sie Hilfe?")
        box.get_by_test_id("launcher").click()
        expect(box.get_by_test_id("submit")).to_have_text("Hilfe anfordern")
        assert box.locator(".dl-root").get_attribute("lang") == "de"
        # A language with no catalogue: the browser's languages decide (English here).
        page.goto(_page_with_lang(host_site, unique, "fr"))
        expect(page.locator("desklink-help").get_by_test_id("launcher")).to_contain_text("Need help?")
        assert german.errors == [] and english.errors == []
    finally:
        german.close()
        english.close()
