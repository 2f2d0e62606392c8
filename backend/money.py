"""Money in words for emails and the dashboard: minor units as ``90.00 USD`` (the same in every language)."""
from __future__ import annotations

#: Currencies without minor units (Stripe's list, the ones experts are likely to use).
ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"}


def money(amount: int | None, currency: str | None) -> str:
    """Minor units as ``90.00 USD``; empty when there is no price."""
    if amount is None or not currency:
        return ""
    if currency.lower() in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount // 100}.{amount % 100:02d} {currency.upper()}"
