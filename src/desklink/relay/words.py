"""What the rep reads when the relay refuses or stops something (the
reasons :class:`desklink.relay.session.ScreenSession` puts in its errors and
``screen.state``)."""

WATCHERS_ONLY_LOOK = "watchers can look but not act; the rep holding the session can"
BROWSER_VIEW_ONLY = (
    "the visitor shares from the browser, which can only show the screen; "
    "for remote control ask the visitor to run the DeskLink agent"
)
BROWSER_PAGE_GONE = "the visitor's page closed or lost its connection"
AGENT_TOOK_OVER = "the DeskLink agent took over from the browser"
RECORDING_NOT_ON_REQUEST = "this queue's recording policy does not let the rep start or stop recording"
RECORDING_NEEDS_SHARING = "recording needs a screen that is being shared"
RECORDING_REQUIRED = "recording is required by this help desk and could not go on"
BROWSER_NO_FILES = (
    "files to and from the visitor's computer need the DeskLink agent; "
    "files in the chat work without it"
)
#: What the rep reads when a browser share stops for each ``screen.stop {why}``.
BROWSER_STOPS = {
    "stop_button": "the visitor pressed Stop in the help box",
    "browser_bar": "the visitor stopped sharing with the browser's own button",
    "page_closed": "the visitor closed or left the page",
}
