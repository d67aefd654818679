"""The import / export page: upload a CSV of components, download the labelled inventory for training."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse

from specscan.webapp import transfer
from specscan.webapp.access import Db, Technician, settings_of
from specscan.webapp.models import utcnow
from specscan.webapp.pages import render

router = APIRouter()


@router.get("/transfer")
def page(request: Request, who: Technician) -> Response:
    return render(request, "transfer.html", {"title": "Import / export"})


@router.post("/transfer/import")
def import_csv(request: Request, db: Db, who: Technician,
               file: Annotated[UploadFile, File()]) -> Response:
    """Imports the valid rows of a CSV as pending components and reports on every other row."""
    name = transfer.upload_name(file.filename)
    try:
        checked = transfer.check_csv(file.file.read(transfer.MAX_BYTES + 1), name, settings_of(request))
    except transfer.FileRejected as exc:
        return render(request, "transfer.html", {"title": "Import / export", "rejected": exc},
                      status_code=413 if exc.too_large else 422)
    report = transfer.save(db, checked, actor=who.username)
    db.commit()
    request.app.state.worker.wake()  # classification goes through the batch endpoint, off this request
    return render(request, "transfer.html", {"title": "Import / export", "report": report})


@router.get("/transfer/export.csv")
def export_csv(request: Request, db: Db, who: Technician,
               target: Annotated[Literal["pipeline", "spreadsheet"], Query(alias="for")] = "pipeline") -> Response:
    """The components with a human label: verbatim, as `specscan pipeline run --data` reads them, or
    spreadsheet-safe (`?for=spreadsheet`: a cell that a spreadsheet would run as a formula starts with ')."""
    transfer.record_export(db, actor=who.username)
    db.commit()
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    name = f"specscan-labelled-{stamp}{'-spreadsheet' if target == 'spreadsheet' else ''}.csv"
    rows = transfer.export_csv(request.app.state.sessions, spreadsheet_safe=target == "spreadsheet")
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})
