"""The one rule for characters people do not type: refused on the way in, neutralised on the way out.

C0/C1 control characters, DEL, the Unicode line and paragraph separators (U+2028, U+2029) and the
bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069, the "RTL override"
that makes ``gpj.exe`` read ``exe.jpg``) break an email header, a calendar line or a page's reading
order. The schemas refuse them (422); the email and calendar builders pass anything already stored
through ``one_line``, so a row written before the rule still sends. Pure, standard library only.
"""
from __future__ import annotations

import re

_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
#: Refused in any text, multi-line text included (tab, LF and CR are allowed there).
CONTROL_RE = re.compile(f"[{_CONTROLS}]")
#: Refused in one-line text (names, titles, labels): the above plus tab, LF and CR.
LINE_BREAKING_RE = re.compile(f"[{_CONTROLS}\t\n\r]")
_RUNS_RE = re.compile(f"(?:[{_CONTROLS}\t\n\r]| )+")


def one_line(text: str) -> str:
    """``text`` as one harmless line: every run of breaks, controls and spaces becomes one space."""
    return _RUNS_RE.sub(" ", text).strip()


def multi_line(text: str) -> str:
    """``text`` with its line breaks as LF and every other control character a space."""
    return CONTROL_RE.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
