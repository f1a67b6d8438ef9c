"""The capture tests use the project's Xvfb helper (a free display number,
stopped by PID) under the name they were written with."""

from desklink.testing_x import XDisplay as Xvfb

__all__ = ["Xvfb"]
