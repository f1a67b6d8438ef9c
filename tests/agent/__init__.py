"""Agent tests: capture backends (real Xvfb) and the screen encoder."""
