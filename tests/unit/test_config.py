"""Settings.from_env (config.py): environment parsing, overrides and
validation. Pure: every test passes its own ``environ``."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desklink.config import Settings, _convert
from desklink.errors import ConfigError
from desklink.protocol import limits

FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
INT_FIELDS = sorted(n for n, f in FIELDS.items() if f.type == "int")
FLOAT_FIELDS = sorted(n for n, f in FIELDS.items() if f.type == "float")
#: Numbers that are not limits: where to listen or connect, and an hour of
#: the day (0 is midnight); each has its own range test.
NOT_LIMITS = frozenset({"port", "smtp_port", "daily_summary_hour", "metrics_port"})
#: ``smtp_port`` is not a limit but must still be positive.
POSITIVE_FIELDS = sorted(n for n in INT_FIELDS + FLOAT_FIELDS if n not in NOT_LIMITS - {"smtp_port"})


def env(name: str) -> str:
    return "DESKLINK_" + name.upper()


def test_field_types_are_the_ones_the_parser_knows() -> None:
    # a new field of another type would silently be passed through as a str
    known = {"int", "float", "bool", "str", "Path", "tuple[str, ...]", "dict[str, Any]"}
    assert {f.type for f in FIELDS.values()} <= known
    assert "port" in INT_FIELDS and "request_expiry_s" in FLOAT_FIELDS


def test_empty_environment_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_limit_defaults_are_the_protocol_constants() -> None:
    s = Settings()
    for name in (
        "max_message_bytes",
        "max_question_chars",
        "max_chat_chars",
        "max_name_chars",
        "max_email_chars",
        "max_note_chars",
        "messages_per_minute",
        "max_outbox_messages",
        "max_resume_backlog",
        "header_timeout_s",
        "drain_timeout_s",
        "drain_notice_s",
        "max_connections_per_ip",
        "api_requests_per_minute_per_ip",
        "api_requests_per_minute_per_account",
        "page_requests_per_minute_per_ip",
        "http_burst_s",
        "refusal_delay_s",
        "min_free_disk_bytes",
        "browser_share_max_chunk_bytes",
        "browser_share_chunks_per_s",
    ):
        assert getattr(s, name) == getattr(limits, name.upper()), name


def test_ints() -> None:
    s = Settings.from_env({env("port"): "9000", env("max_chat_chars"): " 100 "})
    assert s.port == 9000 and type(s.port) is int
    assert s.max_chat_chars == 100


def test_floats() -> None:
    s = Settings.from_env({env("request_expiry_s"): "90.5", env("presence_ttl_s"): "7"})
    assert s.request_expiry_s == 90.5
    assert s.presence_ttl_s == 7.0 and type(s.presence_ttl_s) is float


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "True", "yes", "Yes", "on", "ON"])
def test_bool_true(raw: str) -> None:
    # Every bool setting defaults to true, so the parser is asked directly
    # as well (test_bool_false shows the variable is read at all).
    assert Settings.from_env({env("clipboard_to_visitor"): raw}).clipboard_to_visitor is True
    assert _convert("clipboard_to_visitor", "bool", raw) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", "Off", ""])
def test_bool_false(raw: str) -> None:
    assert Settings.from_env({env("clipboard_to_visitor"): raw}, clipboard_to_visitor=None).clipboard_to_visitor is False


@pytest.mark.parametrize("raw", ["2", "maybe", "y", "t", "enabled", " true"])
def test_bool_invalid(raw: str) -> None:
    with pytest.raises(ConfigError, match="DESKLINK_CLIPBOARD_TO_VISITOR"):
        Settings.from_env({env("clipboard_to_visitor"): raw})


def test_tuple_is_comma_separated_and_trimmed() -> None:
    s = Settings.from_env({env("console_origins"): " https://a.example , ,https://b.example:8443,"})
    assert s.console_origins == ("https://a.example", "https://b.example:8443")
    assert Settings.from_env({env("console_origins"): ""}).console_origins == ()
    assert Settings.from_env({env("console_origins"): " , "}).console_origins == ()


def test_trusted_proxies_are_addresses_or_networks() -> None:
    s = Settings.from_env({env("trusted_proxies"): "10.0.0.5, 10.1.0.0/16,::1,2001:db8::/48"})
    assert s.trusted_proxies == ("10.0.0.5", "10.1.0.0/16", "::1", "2001:db8::/48")
    assert Settings.from_env({}).trusted_proxies == ()
    for bad in ("proxy.example.com", "10.0.0.0/33", "10.0.0.5:80", "*"):
        with pytest.raises(ConfigError, match="trusted_proxies") as info:
            Settings.from_env({env("trusted_proxies"): bad})
        assert repr(bad) in str(info.value)


@pytest.mark.parametrize("raw", ["true", "false", ""])
def test_the_retired_trust_proxy_stops_the_start(raw: str) -> None:
    """An operator upgrading with DESKLINK_TRUST_PROXY set must not get a node
    that silently ignores it (every client would look like the proxy)."""
    with pytest.raises(ConfigError, match="DESKLINK_TRUST_PROXY.*DESKLINK_TRUSTED_PROXIES"):
        Settings.from_env({env("trust_proxy"): raw})


def test_path() -> None:
    s = Settings.from_env({env("data_dir"): "/var/lib/desklink"})
    assert s.data_dir == Path("/var/lib/desklink")
    assert isinstance(s.data_dir, Path)


def test_strings_are_taken_as_they_are() -> None:
    s = Settings.from_env({env("provider_name"): "  Acme, Inc.  ", env("redis_url"): "redis://r:6379/1"})
    assert s.provider_name == "  Acme, Inc.  "
    assert s.redis_url == "redis://r:6379/1"


def test_other_variables_are_ignored() -> None:
    s = Settings.from_env({"PORT": "1", "DESKLINK_NOPE": "x", env("extra"): "x", "desklink_port": "1"})
    assert s == Settings()


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env("port"), "4321")
    assert Settings.from_env().port == 4321
    assert Settings.from_env({}).port == 8080  # an explicit environ replaces os.environ


def test_overrides_win_over_the_environment() -> None:
    environ = {env("port"): "9000", env("host"): "0.0.0.0"}
    s = Settings.from_env(environ, port=9100)
    assert s.port == 9100
    assert s.host == "0.0.0.0"


def test_none_override_keeps_the_environment() -> None:
    s = Settings.from_env({env("port"): "9000"}, port=None, host=None)
    assert s.port == 9000
    assert s.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("port", "eighty"),
        ("port", "80.0"),
        ("port", ""),
        ("max_chat_chars", "1e3"),
        ("request_expiry_s", "half an hour"),
        ("request_expiry_s", ""),
        ("login_backoff_base_s", "2s"),
    ],
)
def test_unparseable_values_name_the_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({env(name): raw})
    assert env(name) in str(info.value)
    assert repr(raw) in str(info.value)


@pytest.mark.parametrize("name", POSITIVE_FIELDS)
@pytest.mark.parametrize("raw", ["0", "-1"])
def test_non_positive_limits_are_refused(name: str, raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({env(name): raw})
    assert name in str(info.value)


@pytest.mark.parametrize("name", POSITIVE_FIELDS)
def test_non_positive_overrides_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(name)):
        Settings.from_env({}, **{name: 0})


def test_nan_is_refused() -> None:
    """``nan <= 0`` is False, so a plain "not positive" check lets NaN through;
    asyncio.sleep(nan) then never returns (the sweeper stops) and
    timedelta(seconds=nan) raises."""
    accepted = []
    for name in FLOAT_FIELDS:
        try:
            Settings.from_env({env(name): "nan"})
        except ConfigError as exc:
            assert name in str(exc)
        else:
            accepted.append(env(name))
    assert accepted == []


def test_port_range() -> None:
    assert Settings.from_env({env("port"): "0"}).port == 0  # any free port
    assert Settings.from_env({env("port"): "65535"}).port == 65535
    for raw in ("-1", "65536", "70000"):
        with pytest.raises(ConfigError, match="port"):
            Settings.from_env({env("port"): raw})


def test_validate_runs_on_direct_construction_only_when_asked() -> None:
    s = Settings(max_chat_chars=0)
    with pytest.raises(ConfigError, match="max_chat_chars"):
        s.validate()


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.port = 1  # type: ignore[misc]


def test_effective_database_url() -> None:
    assert Settings(database_url="postgresql+asyncpg://u@h/db").effective_database_url == "postgresql+asyncpg://u@h/db"
    url = Settings(data_dir=Path("/srv/dl")).effective_database_url
    assert url == "sqlite+aiosqlite:////srv/dl/desklink.db"


@given(name=st.sampled_from([n for n in INT_FIELDS if n != "daily_summary_hour"]), value=st.integers(min_value=1, max_value=65535))
def test_any_positive_int_round_trips(name: str, value: int) -> None:
    assert getattr(Settings.from_env({env(name): str(value)}), name) == value


@given(
    name=st.sampled_from(FLOAT_FIELDS),
    value=st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False),
)
def test_any_positive_float_round_trips(name: str, value: float) -> None:
    environ = {env(name): repr(value)}
    # The stale bound must exceed the renewal: move the partner out of the way.
    if name == "presence_log_renew_s":
        environ[env("presence_log_stale_s")] = repr(value * 2)
    elif name == "presence_log_stale_s":
        environ[env("presence_log_renew_s")] = repr(value / 2)
    elif name == "relay_heartbeat_s":
        environ[env("relay_stale_s")] = repr(value * 2)
    elif name == "relay_stale_s":
        environ[env("relay_heartbeat_s")] = repr(value / 2)
    got = getattr(Settings.from_env(environ), name)
    assert got == value and not math.isnan(got)


# --------------------------------------------------------------------------
# docs/protocol.md, "Limits": every documented setting exists with that default


PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def documented_limits() -> dict[str, float]:
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    section = re.search(r"^## Limits.*?\n(.*?)(?=^#+ |\Z)", text, re.M | re.S)
    assert section, "docs/protocol.md has no Limits section"
    out: dict[str, float] = {}
    for line in section.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`(\w+)`", cells[0])
        number = re.match(r"\d+(\.\d+)?", cells[1]) if len(cells) > 1 else None
        if name and number:
            out[name.group(1)] = float(number.group(0))
            # "5 per `login_window_s` (900)": a second setting in the same cell
            for other, value in re.findall(r"`(\w+)` \((\d+)\)", cells[1]):
                out[other] = float(value)
    return out


def test_documented_limits_match_the_defaults() -> None:
    documented = documented_limits()
    assert len(documented) >= 10, documented
    defaults = Settings()
    for name, value in documented.items():
        assert name in FIELDS, f"docs name a setting {name!r} that does not exist"
        assert getattr(defaults, name) == value, name


def test_every_numeric_setting_defaults_to_its_named_limit() -> None:
    """One source for every limit: each numeric setting's default is the
    constant of the same name in protocol/limits.py, where its reason is
    written (``port`` is an address, not a limit)."""
    import dataclasses

    from desklink.protocol import limits

    checked = 0
    for f in dataclasses.fields(Settings):
        default = f.default
        if isinstance(default, (int, float)) and not isinstance(default, bool) and f.name not in NOT_LIMITS:
            assert hasattr(limits, f.name.upper()), f"{f.name} has no constant {f.name.upper()} in protocol/limits.py"
            assert getattr(limits, f.name.upper()) == default, f.name
            checked += 1
    assert checked >= 40



def test_offline_reply_to_is_one_address() -> None:
    assert Settings.from_env({"DESKLINK_OFFLINE_REPLY_TO": "help@example.com"}).offline_reply_to == "help@example.com"
    for bad in ("help", "a@example.com, b@example.com", "a@example.com\r\nBcc: c@example.com"):
        with pytest.raises(ConfigError, match="offline_reply_to"):
            Settings.from_env({"DESKLINK_OFFLINE_REPLY_TO": bad})


def test_operations_settings_are_checked() -> None:
    s = Settings.from_env({"DESKLINK_LOG_FORMAT": "json", "DESKLINK_METRICS_PORT": "9464", "DESKLINK_NODE_ID": "web-1"})
    assert (s.log_format, s.metrics_port, s.node_id, s.metrics_token) == ("json", 9464, "web-1", "")
    assert Settings.from_env({}).metrics_port == 0  # no metrics listener unless asked
    with pytest.raises(ConfigError, match="log_format must be text or json"):
        Settings.from_env({"DESKLINK_LOG_FORMAT": "xml"})
    for bad in ("-1", "65536"):
        with pytest.raises(ConfigError, match="metrics_port must be 0-65535"):
            Settings.from_env({"DESKLINK_METRICS_PORT": bad})
    with pytest.raises(ConfigError, match="metrics_token must be at least 16 characters"):
        Settings.from_env({"DESKLINK_METRICS_TOKEN": "too-short"})
def test_role_and_relay_settings() -> None:
    """``all`` needs nothing; web and relay nodes need Redis and a shared
    secret of at least 32 bytes; a heartbeat must come before staleness."""
    s = Settings.from_env({})
    assert (s.role, s.effective_node_name, s.effective_relay_url) == ("all", "127.0.0.1:8080", "http://127.0.0.1:8080")
    ok = {"DESKLINK_REDIS_URL": "redis://127.0.0.1:6379/0", "DESKLINK_RELAY_SECRET": "x" * 32}
    relay = Settings.from_env({**ok, "DESKLINK_ROLE": "relay", "DESKLINK_RELAY_PUBLIC_URL": "https://relay-1.example/"})
    assert relay.effective_relay_url == "https://relay-1.example"
    assert Settings.from_env({**ok, "DESKLINK_ROLE": "web"}).role == "web"
    with pytest.raises(ConfigError, match="role must be one of"):
        Settings.from_env({"DESKLINK_ROLE": "both"})
    with pytest.raises(ConfigError, match="redis_url"):
        Settings.from_env({"DESKLINK_ROLE": "relay", "DESKLINK_RELAY_SECRET": "x" * 32})
    with pytest.raises(ConfigError, match="relay_secret"):
        Settings.from_env({**ok, "DESKLINK_ROLE": "web", "DESKLINK_RELAY_SECRET": "x" * 31})
    with pytest.raises(ConfigError, match="relay_stale_s"):
        Settings.from_env({"DESKLINK_RELAY_HEARTBEAT_S": "6", "DESKLINK_RELAY_STALE_S": "6"})
    with pytest.raises(ConfigError, match="node_name"):
        Settings.from_env({"DESKLINK_NODE_NAME": "n" * 65})
