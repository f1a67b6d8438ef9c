"""Agent file names and what they carry: the join code and the server's
address survive a browser's renaming, and nothing unsafe is written."""

from __future__ import annotations

import pytest

from desklink.errors import ProtocolError
from desklink.protocol import agent_names as an


def test_names_for_each_system() -> None:
    assert an.agent_file_name("linux", "x86_64") == "desklink-agent-linux-x86_64"
    assert an.agent_file_name("windows", "x86_64") == "desklink-agent-windows-x86_64.exe"
    assert an.system_name("win32") == "windows" and an.system_name("darwin") == "macos" and an.system_name("linux") == "linux"
    assert an.machine_name("AMD64") == "x86_64" and an.machine_name("aarch64") == "arm64"
    assert an.system_of_file("desklink-agent-macos-arm64") == "macos"
    assert an.system_of_file("desklink-0.1.0-py3-none-any.whl") is None
    assert an.system_of_file("desklink-agent-haiku-x86_64") is None


@pytest.mark.parametrize(
    ("server", "token", "read_back"),
    [
        ("https://support.example.com", "https_support.example.com_443", "https://support.example.com"),
        ("https://support.example.com:8443/", "https_support.example.com_8443", "https://support.example.com:8443"),
        ("http://127.0.0.1:8080", "http_127.0.0.1_8080", "http://127.0.0.1:8080"),
        ("http://help.example.org", "http_help.example.org_80", "http://help.example.org"),
    ],
)
def test_code_and_server_round_trip(server: str, token: str, read_back: str) -> None:
    name = an.carry("desklink-agent-linux-x86_64", "123 456-789", server)
    assert name == f"desklink-agent-linux-x86_64-code-123456789-server-{token}"
    assert an.SAFE_NAME.match(name)
    for saved in (name, f"/home/v/Downloads/{name}", f"{name} (1)", f"C:\\Users\\v\\Downloads\\{name}(2)"):
        assert an.read_carried(saved) == an.Carried("123456789", read_back)


def test_windows_names_keep_their_extension() -> None:
    name = an.carry("desklink-agent-windows-x86_64.exe", "123456789", "https://s.example.com")
    assert name == "desklink-agent-windows-x86_64-code-123456789-server-https_s.example.com_443.exe"
    assert an.read_carried(name) == an.Carried("123456789", "https://s.example.com")


@pytest.mark.parametrize("server", ["http://[::1]:8080", "https://user@host.example", "https://host.example/path", "ftp://x", ""])
def test_a_server_that_cannot_be_written_safely_is_left_out(server: str) -> None:
    name = an.carry("desklink-agent-linux-x86_64", "123456789", server)
    assert name == "desklink-agent-linux-x86_64-code-123456789"
    assert an.read_carried(name) == an.Carried("123456789", "")


@pytest.mark.parametrize("code", ["12345678", "1234567890", "abc", "", "1" * 40])
def test_no_code_no_name(code: str) -> None:
    with pytest.raises(ProtocolError):
        an.carry("desklink-agent-linux-x86_64", code)


@pytest.mark.parametrize(
    "name", ["desklink-agent-linux-x86_64", "agent", "desklink-agent-linux-x86_64-code-12345678", "x-code-abcdefghi", "/usr/bin/python3"]
)
def test_names_without_a_code_carry_nothing(name: str) -> None:
    assert an.read_carried(name) is None


def test_a_port_out_of_range_is_not_a_server() -> None:
    assert an.read_carried("a-code-123456789-server-https_h.example_99999") == an.Carried("123456789", "")
