"""单位党组织 (/employer): 导入党员 — an employer's contact imports its own in-service party members (each joins
the community where they live by a join request the community decides)."""

from __future__ import annotations

from flask import Blueprint

from timebank import labels
from timebank.pages import _imports
from timebank.pages.employer import _employer_or_403, contact_only, render

bp = Blueprint("employer_joining", __name__, url_prefix="/employer")


@bp.route("/import", methods=["GET", "POST"])
@contact_only
def import_members():
    employer = _employer_or_403()
    page = _imports.handle(employer_id=employer.id)
    return render("pages/employer/imports.html", **{**page, "modes": labels.IMPORT_MODES})
