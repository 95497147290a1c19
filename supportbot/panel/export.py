"""The export download: the very CSV `python -m supportbot export` writes."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Response

from .. import ops
from ..storage import export_rows
from .auth import login_required
from .db import state

bp = Blueprint("export", __name__)


@bp.route("/export.csv")
@login_required
def download():
    config = state().config
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "export.csv"
        ops.write_export(out, export_rows(config.database), config.timezone)
        data = out.read_bytes()
    stamp = "supportbot-export.csv"
    return Response(data, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={stamp}"})
