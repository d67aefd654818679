"""Rendering pages: the Jinja2 templates with what every page shows (viewer, settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """A page (or, for an HTMX request, the same template: it decides what a fragment holds)."""
    context = dict(context or {})
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    context["settings"] = request.app.state.settings
    context["htmx"] = request.headers.get("HX-Request") == "true"
    return templates.TemplateResponse(request, name, context, status_code=status_code)
