"""The audit log page: every change, newest first, filtered by who, what, which entity and when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from specscan.webapp.access import Db, Reviewer, query_parameters
from specscan.webapp.audit import AuditQuery, changes, distinct_values, entries
from specscan.webapp.models import AuditEntry
from specscan.webapp.pages import render

router = APIRouter()


@router.get("/audit")
def audit_log(request: Request, db: Db, who: Reviewer,
              query: Annotated[AuditQuery, Depends(query_parameters(AuditQuery))]) -> Response:
    rows, more = entries(db, query)
    return render(request, "audit.html", {
        "title": "Audit log", "query": query, "more": more, "actions": distinct_values(db, AuditEntry.action),
        "entity_kinds": distinct_values(db, AuditEntry.entity), "rows": [(entry, changes(entry)) for entry in rows]})
