"""A faithful local imitation of Exact Online's REST API, for the demo, tests and fault drills.

    sandbox = Sandbox(seed=7, size="small")
    app = create_app(sandbox)  # Starlette; app.state.sandbox is the same object

See docs/sandbox.md for the control API, the fault plan format and the seed facts.
"""

from exact_tui.sandbox.app import create_app
from exact_tui.sandbox.clock import SandboxClock
from exact_tui.sandbox.faults import Fault, FaultKind, FaultPlan
from exact_tui.sandbox.limits import LimitSettings
from exact_tui.sandbox.oauth import TokenPair
from exact_tui.sandbox.sandbox import Sandbox
from exact_tui.sandbox.seed import (
    BE_DIVISION,
    CLIENT_ID,
    CLIENT_SECRET,
    FACTS,
    LARGE,
    NL_DIVISION,
    NO_CONSENT_DIVISION,
    REDIRECT_URI,
    SMALL,
    DivisionFacts,
    SeedFacts,
    UserFacts,
    division_number,
    facts_for,
)

__all__ = [
    "BE_DIVISION",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "FACTS",
    "LARGE",
    "NL_DIVISION",
    "NO_CONSENT_DIVISION",
    "REDIRECT_URI",
    "SMALL",
    "DivisionFacts",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "LimitSettings",
    "Sandbox",
    "SandboxClock",
    "SeedFacts",
    "TokenPair",
    "UserFacts",
    "create_app",
    "division_number",
    "facts_for",
]
