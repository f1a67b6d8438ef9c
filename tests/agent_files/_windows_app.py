"""A TkUI on its own, for the window tests: questions posted as the network
side posts them; the visitor's answers printed, one line each."""

from __future__ import annotations

import sys
from pathlib import Path

from desklink.agent.files import TransferView
from desklink.agent.ui import FileAskQuestion, FileOfferQuestion, Hooks, TkUI


def main() -> None:
    dest = Path(sys.argv[1])

    def say(text: str) -> None:
        print(text, flush=True)

    ui = TkUI(Hooks(stop=lambda: ui.post("quit"), files_send=lambda paths: say(f"SEND {paths}"),
                    files_cancel=lambda key: say(f"CANCEL {key}"), files_pause=lambda i, on: say(f"PAUSE {i} {on}"),
                    files_revoke=lambda: say("REVOKE")))

    def offered(answer: Path | None) -> None:
        say(f"OFFER {answer}")
        ui.post("file_ask", FileAskQuestion(ask="a1", rep="Rita", note="the log please"), asked)

    def asked(paths: list[str] | None) -> None:
        say(f"ASK {paths}")
        ui.post("files", True, "Rita", "")
        ui.post("transfers", [TransferView("in:5", "in", "report.pdf", 1000, 400, "receiving", 200.0, 3.0, id=5)])
        say("LISTED")

    ui.post("file_offer", FileOfferQuestion(id=5, rep="Rita", name="report.pdf", size="1.0 KB", dest=dest), offered)
    ui.run()


if __name__ == "__main__":
    main()
