"""Clients (search, one client's bookings, packages and credits) and Leads (paged, closed by the
expert through ``leads.close_lead``, as the API does)."""
from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from backend.dashboard import auth
from backend.dashboard.bookings import PAGE_SIZE, cursor_of
from backend.dashboard.common import page
from backend.dashboard.routes import bp
from backend.extensions import db
from backend.schemas import PageCursor
from backend.services import dashboard, leads
from backend.types import utcnow


@bp.get("/clients")
@auth.login_required
def clients() -> ResponseReturnValue:
    """The expert's clients by name, searched by name or email, 25 a page."""
    expert = auth.current_expert()
    q = request.args.get("q", "").strip()[:200]
    after = cursor_of(request.args.get("cursor"))
    if after is not None and not isinstance(after[1], int):
        after = None
    rows = dashboard.find_clients(db.session(), expert, q=q, limit=PAGE_SIZE + 1, after=after)
    last = rows[PAGE_SIZE - 1].client if len(rows) > PAGE_SIZE else None
    return page("dashboard/clients.html", "dashboard.clients", rows=rows[:PAGE_SIZE], q=q, paged=after is not None,
                next_cursor=PageCursor.encode(last.name, last.id) if last else None)


@bp.get("/clients/<id:client_id>")
@auth.login_required
def client(client_id: int) -> ResponseReturnValue:
    """One client: contact, bookings (latest first), packages and the credits left on them."""
    found = dashboard.client_file(db.session(), auth.current_expert(), client_id)
    return page("dashboard/client.html", "dashboard.clients", file=found, now=utcnow())


@bp.get("/leads")
@auth.login_required
def leads_page() -> ResponseReturnValue:
    """Leads, most recently changed first, 25 a page."""
    expert = auth.current_expert()
    after = cursor_of(request.args.get("cursor"))
    if after is not None and not isinstance(after[1], str):
        after = None
    rows = leads.list_leads(db.session(), expert, limit=PAGE_SIZE + 1, after=after)
    last = rows[PAGE_SIZE - 1] if len(rows) > PAGE_SIZE else None
    return page("dashboard/leads.html", "dashboard.leads", rows=rows[:PAGE_SIZE], paged=after is not None,
                next_cursor=PageCursor.encode(last.updated_at, last.id) if last else None)
