"""The front end's wire constants (web/shared/wire.js) are generated from the
protocol package: the committed file must be exactly what the Python says."""

from __future__ import annotations

import json
import re

from desklink.protocol import codes, jsgen, limits


def test_wire_js_is_up_to_date() -> None:
    assert jsgen.WIRE_JS.read_text(encoding="utf-8") == jsgen.render(), "run python -m desklink.protocol.jsgen"
    assert jsgen.main(["--check"]) == 0


def test_the_generated_values_are_the_pythons() -> None:
    text = jsgen.render()
    close = json.loads(re.search(r"export const CLOSE = Object.freeze\((\{.*?\})\);", text, re.S).group(1))  # type: ignore[union-attr]
    assert close["AUTH"] == codes.CLOSE_AUTH == 4001 and close["ENDED"] == 4010
    assert set(close.values()) == set(codes.CLOSE_CODES)
    lims = json.loads(re.search(r"export const LIMITS = Object.freeze\((\{.*?\})\);", text, re.S).group(1))  # type: ignore[union-attr]
    assert lims["MAX_CLIPBOARD_CHARS"] == limits.MAX_CLIPBOARD_CHARS and lims["MAX_COORD"] == limits.MAX_COORD


def test_no_front_end_module_keeps_its_own_copy_of_a_close_code() -> None:
    """Close codes in the browser code come from wire.js (CLOSE.X), never as
    bare numbers in a switch or a list."""
    web = jsgen.WIRE_JS.parent.parent
    offenders = []
    for path in web.rglob("*.js"):
        if path == jsgen.WIRE_JS:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"(case|\[|,|===|==)\s*(1008|4001|4003|4004|4010|4011|4012|4029)\b", line):
                offenders.append(f"{path.relative_to(web)}:{n}: {line.strip()}")
    assert offenders == []
