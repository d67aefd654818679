"""The dashboard: label counts, the disagreement rate, counts per model version and predictions per day."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from specscan.webapp import stats
from specscan.webapp.access import Db, Technician
from specscan.webapp.pages import render

router = APIRouter()


@router.get("/dashboard")
def dashboard(request: Request, db: Db, who: Technician) -> Response:
    return render(request, "dashboard.html", {"title": "Dashboard", "board": stats.dashboard(db)})
