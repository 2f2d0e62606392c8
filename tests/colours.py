"""WCAG 2 contrast, computed independently of the code under test (for the tests' assertions)."""
from __future__ import annotations


def rgb(hex_colour: str) -> list[int]:
    """``#rrggbb`` as three 0–255 channels."""
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


def contrast(a: list[int], b: list[int]) -> float:
    """The WCAG contrast ratio of two sRGB colours (1 to 21)."""
    def luminance(channels: list[int]) -> float:
        c = [v / 255 for v in channels]
        c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted([luminance(a), luminance(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)
