"""The inventory pages: list, create, edit, a component with its prediction and explanation, feedback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from specscan.webapp import inventory
from specscan.webapp.access import ComponentId, Db, Reviewer, Technician, query_parameters, settings_of
from specscan.webapp.audit import changes
from specscan.webapp.listing import ListQuery, facets, list_components
from specscan.webapp.models import AuditEntry, Component, Role
from specscan.webapp.pages import render
from specscan.webapp.scoring_client import ScoringUnavailable

router = APIRouter()
FieldText = Annotated[str, Form(max_length=20_000)]
Version = Annotated[int, Form(ge=1, le=2**31 - 1, description="The version the form was filled in on.")]


def _list(request: Request, db: Db, who: Technician, query: ListQuery, template: str, title: str) -> Response:
    page = list_components(db, query, settings_of(request))
    context = {"page": page, "query": query, "title": title, "base_path": request.url.path}
    if request.headers.get("HX-Request") == "true":  # a filter changed: only the results are swapped in
        return render(request, "components/_results.html", context)
    return render(request, template, {**context, "facets": facets(db)})


@router.get("/components")
def component_list(request: Request, db: Db, who: Technician,
                   query: Annotated[ListQuery, Depends(query_parameters(ListQuery))]) -> Response:
    query = query.model_copy(update={"review_queue": False})  # the queue is /review's, for reviewers
    return _list(request, db, who, query, "components/list.html", "Components")


@router.get("/components/new")
def new_form(request: Request, who: Technician) -> Response:
    return render(request, "components/form.html", {"component": None, "values": {}, "problems": {}})


@router.post("/components")
def create(request: Request, db: Db, who: Technician, description: FieldText = "", part_number: FieldText = "",
           supplier: FieldText = "", category: FieldText = "") -> Response:
    settings = settings_of(request)
    values = {"description": description, "part_number": part_number, "supplier": supplier, "category": category}
    try:
        fields = inventory.check_fields(values, settings)
    except inventory.InputError as exc:
        return render(request, "components/form.html", {"component": None, "values": values,
                                                         "problems": exc.problems}, status_code=422)
    component = inventory.create(db, fields, actor=who.username)
    db.commit()
    inventory.classify_now(request.app.state.sessions, component.id, request.app.state.classifier, settings,
                           actor=who.username)
    return RedirectResponse(f"/components/{component.id}?saved=1", status_code=303)


@router.get("/components/{component_id}")
def detail(request: Request, db: Db, who: Technician, component_id: ComponentId, saved: bool = False) -> Response:
    component = inventory.get(db, component_id)
    history = []
    if who.may(Role.reviewer):
        entries = db.scalars(select(AuditEntry).where(AuditEntry.entity == "component",
                                                      AuditEntry.entity_id == str(component_id))
                             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(50)).all()
        history = [(entry, changes(entry)) for entry in entries]
    return render(request, "components/detail.html", {"component": component, "saved": saved,
                                                       "history": history, **_prediction(component)})


@router.get("/components/{component_id}/prediction")
def prediction(request: Request, db: Db, who: Technician, component_id: ComponentId) -> Response:
    """The prediction panel alone: polled while the component is pending."""
    component = inventory.get(db, component_id)
    return render(request, "components/_prediction.html", {"component": component, **_prediction(component)})


@router.get("/components/{component_id}/explanation")
def explanation(request: Request, who: Technician, component_id: ComponentId) -> Response:
    """Fetches word attributions for a component classified without them (imported, retried)."""
    error = None
    try:
        component = inventory.explain(request.app.state.sessions, component_id, request.app.state.classifier)
    except ScoringUnavailable as exc:
        with request.app.state.sessions() as db:
            component = inventory.get(db, component_id)
        error = f"The explanation is not available right now ({exc})."
    return render(request, "components/_explanation.html",  # explain_done: never the loader again (no loop)
                  {"component": component, "explain_error": error, "explain_done": True, **_prediction(component)})


def _prediction(component: Component) -> dict[str, Any]:
    return {"highlights": highlight(component.description, component.explanation)}


def highlight(text: str, words: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The text as runs of plain text and attributed words, with a strength class (1-4) each.

    Strength is relative to the strongest word, so the push of every text is visible."""
    if words is None:
        return None
    strongest = max((abs(w["attribution"]) for w in words), default=0.0) or 1.0
    runs: list[dict[str, Any]] = []
    position = 0
    for word in sorted(words, key=lambda w: w["start"]):
        start, end = word["start"], word["end"]
        if start < position or end > len(text) or text[start:end] != word["text"]:
            return None  # the explanation does not fit this text (edited since): show none, not a wrong one
        if start > position:
            runs.append({"text": text[position:start], "strength": 0, "sign": ""})
        value = word["attribution"]
        strength = min(4, int(abs(value) / strongest * 4 + 0.5)) if abs(value) >= 0.01 else 0
        runs.append({"text": word["text"], "strength": strength, "sign": "pos" if value > 0 else "neg",
                     "attribution": value})
        position = end
    if position < len(text):
        runs.append({"text": text[position:], "strength": 0, "sign": ""})
    return runs


@router.get("/components/{component_id}/edit")
def edit_form(request: Request, db: Db, who: Technician, component_id: ComponentId) -> Response:
    component = inventory.get(db, component_id)
    values = {name: getattr(component, name) for name in ("description", "part_number", "supplier", "category")}
    return render(request, "components/form.html", {"component": component, "values": values, "problems": {},
                                                     "version": component.version})


@router.post("/components/{component_id}")
def edit(request: Request, db: Db, who: Technician, component_id: ComponentId,
         version: Version, description: FieldText = "", part_number: FieldText = "",
         supplier: FieldText = "", category: FieldText = "") -> Response:
    settings = settings_of(request)
    values = {"description": description, "part_number": part_number, "supplier": supplier, "category": category}
    component = inventory.get(db, component_id)
    try:
        fields = inventory.check_fields(values, settings)
        component, reclassify = inventory.update(db, component_id, fields, expected_version=version,
                                                 actor=who.username)
    except inventory.InputError as exc:
        db.rollback()
        return render(request, "components/form.html", {"component": component, "values": values,
                                                         "problems": exc.problems, "version": version},
                      status_code=422)
    except inventory.ConflictError as exc:
        db.rollback()
        return render(request, "components/form.html", {"component": exc.current, "values": values, "problems": {},
                                                         "conflict": str(exc), "version": exc.current.version},
                      status_code=409)
    db.commit()
    if reclassify:
        inventory.classify_now(request.app.state.sessions, component_id, request.app.state.classifier, settings,
                               actor=who.username)
    return RedirectResponse(f"/components/{component_id}?saved=1", status_code=303)


@router.post("/components/{component_id}/feedback")
def feedback(request: Request, db: Db, who: Technician, component_id: ComponentId, version: Version,
             label: Annotated[str, Form(max_length=32)] = "",
             reason: Annotated[str, Form(max_length=5000)] = "") -> Response:
    try:
        inventory.set_feedback(db, component_id, label, reason, expected_version=version, actor=who.username)
    except (inventory.InputError, inventory.ConflictError) as exc:
        db.rollback()
        component = inventory.get(db, component_id)
        status = 409 if isinstance(exc, inventory.ConflictError) else 422
        return render(request, "components/detail.html",
                      {"component": component, "history": [], "feedback_error": str(exc),
                       "reason": reason, **_prediction(component)}, status_code=status)
    db.commit()
    return RedirectResponse(f"/components/{component_id}", status_code=303)


@router.get("/review")
def review_queue(request: Request, db: Db, who: Reviewer,
                 query: Annotated[ListQuery, Depends(query_parameters(ListQuery))]) -> Response:
    query = query.model_copy(update={"review_queue": True})
    return _list(request, db, who, query, "components/list.html", "Review queue")

