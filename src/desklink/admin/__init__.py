"""Account and queue administration: the one place users, roles, queues and
their members change, for the admin center and the command line alike.

:class:`AdminActions` validates, applies the change, guards the last admin,
signs users out where needed, records an access change (so every node
re-checks that user's open sockets) and writes the audit entry. Both
``server/api_admin.py`` and ``cli.py`` are thin callers of it.
"""

from desklink.admin.actions import AdminActions
from desklink.admin.rules import Actor, check_origins, check_slug

__all__ = ["Actor", "AdminActions", "check_origins", "check_slug"]
