"""Online replay benchmark: replay a full-information log as production traffic.

At each step the router serves one model and learns only what production would tell it: the
served answer's grade (or one duel verdict), perhaps late, perhaps never. ``eagle replay`` is
the command-line front end.
"""

from __future__ import annotations

from eagle_core.replay._protocol import OnlineRouter

__all__ = ["OnlineRouter"]
