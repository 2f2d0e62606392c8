"""The widget speaks English and French: both dictionaries have the same keys, plural forms and
placeholders, so a French client never meets an English sentence or a raw ``{name}``."""
from __future__ import annotations

import re
from pathlib import Path

WIDGET = Path(__file__).resolve().parent.parent / "widget"
ENTRY = re.compile(r"^  ([a-z_0-9]+): (.+?),?$")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def texts(source: str) -> dict[str, str]:
    """key -> text (a plural entry keeps its ``{ one: …, other: … }`` text) of a dictionary literal."""
    found: dict[str, str] = {}
    for line in source.splitlines():
        match = ENTRY.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def english() -> dict[str, str]:
    """The first screen's words (i18n.js) and those the later steps add (every i18n-*.js)."""
    source = (WIDGET / "i18n.js").read_text()
    found = texts(source[source.index("const en = {"):source.index("\n};", source.index("const en = {"))])
    for later in sorted(WIDGET.glob("i18n-*.js")):
        words = texts(later.read_text().split("export default {", 1)[1])
        assert words and not set(words) & set(found), f"{later.name}: no words, or words said twice"
        found.update(words)
    return found


def french() -> dict[str, str]:
    source = (WIDGET / "fr.js").read_text()
    return texts(source[source.index("export default {"):])


def test_french_has_every_english_text_and_no_other() -> None:
    en, fr = english(), french()
    assert len(en) > 100  # the parser read the dictionary, not an empty slice
    assert sorted(set(en) - set(fr)) == [] and sorted(set(fr) - set(en)) == []


def test_each_french_text_has_the_same_placeholders_and_plural_forms() -> None:
    en, fr = english(), french()
    differ = {key: (en[key], fr[key]) for key in set(en) & set(fr)
              if set(PLACEHOLDER.findall(en[key])) != set(PLACEHOLDER.findall(fr[key]))
              or re.findall(r"\b(one|other):", en[key]) != re.findall(r"\b(one|other):", fr[key])}
    assert differ == {}
