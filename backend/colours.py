"""The one rule for text on an expert's brand colour.

White while the colour's WCAG relative luminance is under 0.179, black from there: at 0.179 both give
about 4.58:1, so whichever is chosen reaches 4.5:1 on any colour. The widget (``widget/theme.js``,
``textOn``) and the snippet's floating button (``embed/embed.js``, a CSS relative-colour formula on the
same luminance) apply the same threshold; ``e2e/test_widget_modes.py`` checks that all three agree.
"""
from __future__ import annotations

import re

DEFAULT_COLOR = "#2f5d8a"
LUMINANCE_THRESHOLD = 0.179


def brand_color(value: str | None) -> str:
    """``value`` when it is a ``#rrggbb`` colour, else Kairos's own blue.

    Validated by the profile schema already; checked again because it lands inside style attributes.
    """
    return value if value and re.fullmatch(r"#[0-9a-fA-F]{6}", value) else DEFAULT_COLOR


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb`` (0 for black, 1 for white)."""
    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(color[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_on(color: str) -> str:
    """``#ffffff`` or ``#000000``, whichever reads on ``color`` (``#rrggbb``)."""
    return "#ffffff" if relative_luminance(color) < LUMINANCE_THRESHOLD else "#000000"
