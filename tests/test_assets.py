"""A client who comes back tomorrow loads the booking flow from their browser's cache.

The widget's pages link its files under a version (backend/assets.py): those URLs are kept for a
year, unchanged bytes for ever; a deploy that changes a file changes the version. The unversioned
files (embed.js, pasted into experts' sites) carry a validator, so a browser asks "still the same?"
and gets 304 instead of the file.
"""
from __future__ import annotations

import re

from backend import assets
from backend.widget_modules import imports

YEAR = "public, max-age=31536000, immutable"


def linked(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/assets/[^"]+)"', html)


def test_the_widget_page_links_every_file_under_one_version_kept_for_a_year(client, expert):
    html = client.get("/widget/jane/intro-call").get_data(as_text=True)
    urls = linked(html)
    assert "/widget-assets/" not in html
    versions = {url.split("/")[2] for url in urls}
    assert len(versions) == 1 and re.fullmatch(r"[0-9a-f]{12}", versions.pop())
    assert {url.rsplit("/", 1)[1] for url in urls} >= {"widget.css", "app.js", "early.js", "month.js"}
    for url in urls:
        answer = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200, url
        assert answer.headers["Cache-Control"] == YEAR, url
        assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_a_module_s_relative_imports_resolve_under_its_page_s_version(client, expert):
    app_js = next(url for url in linked(client.get("/widget/jane").get_data(as_text=True)) if url.endswith("/app.js"))
    base = app_js.rsplit("/", 1)[0]
    source = client.get(app_js).get_data(as_text=True)
    for spec in imports(source):  # dynamic steps too: a step loaded later comes from the same version
        answer = client.get(f"{base}/{spec.removeprefix('./')}")
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == YEAR, spec


def test_a_page_from_before_a_deploy_gets_today_s_file_for_a_short_while(client, expert):
    answer = client.get("/assets/000000000000/steps.js")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "public, max-age=300"  # not a year: that URL's bytes changed


def test_the_version_changes_with_any_file(tmp_path):
    (tmp_path / "app.js").write_text("export const a = 1;\n")
    (tmp_path / "widget.css").write_text("body{}\n")
    before = assets._digest(tmp_path)
    assert assets._digest(tmp_path) == before  # the same files, the same version
    (tmp_path / "widget.css").write_text("body{color:red}\n")
    assert assets._digest(tmp_path) != before
    (tmp_path / "widget.css").write_text("body{}\n")
    assert assets._digest(tmp_path) == before
    (tmp_path / "new.js").write_text("")
    assert assets._digest(tmp_path) != before


def test_an_unchanged_snippet_costs_a_304_not_the_file(client):
    gzipped = client.get("/embed.js", headers={"Accept-Encoding": "gzip"})
    plain = client.get("/embed.js")
    assert gzipped.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert gzipped.headers["ETag"] != plain.headers["ETag"]  # two representations, two validators
    again = client.get("/embed.js", headers={"Accept-Encoding": "gzip", "If-None-Match": gzipped.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    stale = client.get("/embed.js", headers={"Accept-Encoding": "gzip", "If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.data == gzipped.data


def test_nothing_outside_the_widget_is_served_under_a_version(client):
    version = assets._cached_digest(assets.WIDGET_DIR)
    for path in (f"/assets/{version}/../backend/config.py", f"/assets/{version}/%2e%2e/pyproject.toml",
                 f"/assets/{version}/nope.js"):
        assert client.get(path).status_code == 404, path
