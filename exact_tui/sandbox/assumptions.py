"""Every behaviour the sandbox picks where Exact's behaviour is not documented.

One module, so a check against a real Exact division has one place to correct (the rest, such as
page sizes and filter rules per resource, is in data/exact_api.json with its source).
`docs/sandbox.md` lists each choice with its reason; the names here match the names there.

Choices that need no knob, because the sandbox simply does not distinguish:
- endpoint paths are matched case-insensitively, as on IIS (schema.lookup);
- an access token stays valid until its own expiry after a refresh issued a newer one;
- line signs are not enforced: positive bank lines are money in, positive journal lines debit.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

# -- OAuth -------------------------------------------------------------------------------------

# Authorization codes are single use (PQ README); "~3 min" validity (INV-2903).
AUTH_CODE_LIFETIME_S: Final = 180

# Refresh tokens expire 30 days after issue when unused (WS#19); no per-app longer lifetimes.
REFRESH_TOKEN_LIFETIME_S: Final = 30 * 24 * 3600

# The previous refresh token reportedly stays usable for ~10 minutes (INV-2903): the sandbox
# allows no grace at all, so a client that reuses a rotated token is caught every time.
OLD_REFRESH_TOKEN_GRACE_S: Final = 0

# The 570-second rule applies to the refresh grant only; a fresh consent (code exchange) always
# gets tokens, so a user can reconnect at any time.
TOO_EARLY_RULE_ON_CODE_EXCHANGE: Final = False

# The App Center registers https redirect URIs only (reported since July 2021, WS#8; every
# integration guide found registers https) and, the sandbox assumes, none on localhost or a
# loopback address (not confirmed: desktop tools such as CData's register a hosted https page).
REDIRECT_URI_HTTPS_ONLY: Final = True
REDIRECT_URI_NO_LOOPBACK: Final = True

# Client authentication at the token endpoint: Exact's examples send the secret in the body;
# whether HTTP Basic (RFC 6749 §2.3.1, which a server must support) is accepted is not confirmed.
# The sandbox accepts both, so a standard OAuth client works; a client id in the body that
# differs from Basic's is refused (401 invalid_client, with a Basic challenge).
BASIC_CLIENT_AUTH: Final = True

# Exact's reply when the 200 token calls per day are spent is undocumented.
TOKEN_QUOTA_STATUS: Final = 400
TOKEN_QUOTA_ERROR: Final = "access_denied"  # noqa: S105 - an OAuth error code
TOKEN_QUOTA_DESCRIPTION: Final = "Rate limit exceeded: too many token requests today"  # noqa: S105

# A refresh token whose grant was revoked (the user disconnected the app in Exact).
REVOKED_REFRESH_STATUS: Final = 400
REVOKED_REFRESH_ERROR: Final = "invalid_grant"
REVOKED_REFRESH_DESCRIPTION: Final = "The refresh token has been revoked."

# A refresh token that was never issued.
UNKNOWN_REFRESH_DESCRIPTION: Final = "Invalid refresh token."

# REST calls with a missing, expired or revoked access token: JSON in Exact's error shape plus a
# WWW-Authenticate header (real bodies vary; PQ#343 saw an HTML page).
UNAUTHORIZED_MESSAGE: Final = "Unauthorized: the access token is missing, expired or revoked."

# -- Divisions and consent ---------------------------------------------------------------------

# Body text of the 403 for a division outside the consent (only the Reason header is documented;
# this text comes from a third-party test stub).
NO_DIVISION_ACCESS_MESSAGE: Final = "Forbidden - WrongDivision"

# -- Rate limits and the error block -----------------------------------------------------------

# 429 body (no sample found) and no Retry-After header (no client reports one).
RATE_LIMIT_MESSAGE: Final = "API rate limit exceeded."

# More than the threshold of 400/401/403/404 answers per endpoint, division and hour blocks that
# endpoint for an hour. The blocked answer is undocumented: the sandbox answers 429 with this
# message and no rate-limit headers, and does not escalate the block.
ERROR_BLOCK_STATUS: Final = 429
ERROR_BLOCK_MESSAGE: Final = (
    "API rate limit exceeded: more than {threshold} errors on this endpoint within an hour. "
    "Blocked until {until}."
)
ERROR_BLOCK_COUNTED_STATUSES: Final = frozenset({400, 401, 403, 404})

# -- OData -------------------------------------------------------------------------------------

# Bulk and sync endpoints without $select (PQ's README quotes the similar "$select or $top=1").
SELECT_REQUIRED_MESSAGE: Final = "Please add a $select statement to the query string."


# String comparisons in $filter follow SQL Server's default collation: case-insensitive and
# blind to trailing spaces (so `Country eq 'NL'` finds "NL "), but leading spaces count (so an
# account Code must be padded, or wrapped in trim()).
def collate(value: str) -> str:
    """The form two strings are compared in."""
    return value.rstrip(" ").casefold()


# Booleans in $filter: both `true`/`false` and `1`/`0` are accepted.
BOOLEAN_ACCEPTS_INTEGERS: Final = True

# Entry lookups a client needs to settle a posting whose answer it never saw. The entry endpoints
# have no sync counterpart, so no mandatory filtering and no field restriction: the sandbox lets
# them filter on any field, and the contract tests pin these lookups in particular.
ENTRY_LOOKUP_FIELDS: Final = {
    "salesentry/SalesEntries": ("YourRef", "Journal"),
    "financialtransaction/BankEntryLines": ("OurRef", "Description"),
    "generaljournalentry/GeneralJournalEntryLines": ("Description", "OurRef"),
}

# -- Formatting --------------------------------------------------------------------------------


def server_time(moment: datetime) -> str:
    """current/Me's ServerTime, an Edm.String in Exact's reference: its format is not
    documented; the sandbox writes the UTC time in ISO 8601 (ServerUtcOffset 0)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


# VAT percentages are fractions (0.21 for 21 %), as Exact stores other percentages.
def vat_fraction(percent: int) -> Decimal:
    """The stored Percentage of a VAT rate given in whole percents."""
    return (Decimal(percent) / 100).quantize(Decimal("0.01"))


# VAT codes come back left-aligned and padded to three characters ("2  "), as OSSO's hard-coded
# codes suggest.
VAT_CODE_WIDTH: Final = 3


def booking_date(moment: datetime) -> datetime:
    """A date-only field (EntryDate, DueDate, Date): the time is dropped after converting to UTC,
    so "2025-03-01T00:00:00+01:00" books on 28 February, the hazard
    docs/exact-api.md §Dates and numbers warns about."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def period_of(moment: datetime) -> tuple[int, int]:
    """ReportingYear/Period and FinancialYear/Period when omitted: calendar year and month."""
    return moment.year, moment.month


# -- Writes ------------------------------------------------------------------------------------

# Missing mandatory fields are 400; business rules (wrong journal type, unknown GL account, ...)
# are 500 with a localized message. Dutch for divisions under NL legislation, English elsewhere.
MISSING_FIELD_STATUS: Final = 400
BUSINESS_RULE_STATUS: Final = 500
DUTCH_LEGISLATIONS: Final = frozenset({"NL"})

# Without `Prefer: return=representation` a POST answers 201 with the key and the fields the
# client sent; everything the server computed (EntryNumber, amounts, names) is null (BVB).
POST_WITHOUT_PREFER_ECHOES_INPUT_ONLY: Final = True

# Entry numbers: per journal and year, (yy * 1,000,000) + sequence. A suggested EntryNumber is
# used when free in that journal, silently replaced by the next free one otherwise (OSSO).
ENTRY_NUMBER_YEAR_FACTOR: Final = 1_000_000

# Revenue-type GL accounts allowed on sales entry lines.
SALES_LINE_GL_TYPES: Final = frozenset({110})

# A sales entry whose total is negative is a credit note: Type 21 instead of 20.
CREDIT_NOTE_WHEN_NEGATIVE: Final = True

# Lines on a receivables (20) or payables (22) GL account must name the relation (Account).
GL_TYPES_NEEDING_ACCOUNT: Final = frozenset({20, 22})

# Bank entries: an omitted OpeningBalanceFC is the journal's last closing balance; a supplied
# ClosingBalanceFC must equal opening + lines.
CHECK_BANK_CLOSING_BALANCE: Final = True

# IsSales is read-only: sending it on POST is accepted and ignored; only Status "C" makes a
# customer. An account created without Status gets "A" (none).
DEFAULT_ACCOUNT_STATUS: Final = "A"

# VAT numbers on new accounts are checked with python-stdnum (country prefix, or the account's
# Country when the number has none); an invalid one is a 400.
VALIDATE_VAT_NUMBERS: Final = True

# An account Code must be at most 18 digits; when omitted it is the highest numeric code + 1.
ACCOUNT_CODE_PATTERN: Final = re.compile(r"^\s*\d{1,18}\s*$")
