"""Attendance (签到签退) and verification (审核): QR check-in/out, grid-worker confirmation, late entry (补录),
accepting or rejecting attendance (one or in bulk), and complaints that reverse a credit."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.schemas.hours import (
    AttendanceConfirmIn,
    AttendanceOut,
    CheckTokenIn,
    ComplaintDecisionIn,
    ComplaintIn,
    ComplaintOut,
    LateEntryIn,
    VerificationListOut,
    VerificationOut,
    VerifyBulkIn,
    VerifyIn,
)
from timebank.api.transaction import write
from timebank.errors import NotFound
from timebank.extensions import db
from timebank.hours import attendance, verification

blp = Blueprint("attendance", __name__, url_prefix="/api", description="Attendance (签到签退) and verification (审核)")


@blp.route("/attendance/check-in")
class CheckIn(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(CheckTokenIn)
    @blp.response(201, AttendanceOut)
    def post(self, body):
        """Check in with the token from the site's QR code."""
        return attendance.check_in(db.session, current_actor(), current_app.config["SECRET_KEY"], body["token"])


@blp.route("/attendance/check-out")
class CheckOut(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(CheckTokenIn)
    @blp.response(200, AttendanceOut)
    def post(self, body):
        """Check out with a fresh token from the site's QR code; the session then awaits verification."""
        return attendance.check_out(db.session, current_actor(), current_app.config["SECRET_KEY"], body["token"])


@blp.route("/attendance/confirm")
class Confirm(MethodView):
    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(AttendanceConfirmIn)
    @blp.response(201, AttendanceOut)
    def post(self, body):
        """The task's grid worker confirms a session seen on site."""
        return attendance.confirm(db.session, current_actor(), **body)


@blp.route("/attendance/late-entry")
class LateEntry(MethodView):
    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(LateEntryIn)
    @blp.response(201, AttendanceOut)
    def post(self, body):
        """补录: an admin enters a past session, with the reason."""
        return attendance.late_entry(db.session, current_actor(), **body)


@blp.route("/attendances/<int:attendance_id>")
class AttendanceItem(MethodView):
    @auth(BEARER)
    @blp.response(200, AttendanceOut)
    def get(self, attendance_id):
        return attendance.get_visible(db.session, current_actor(), attendance_id)


@blp.route("/attendances/<int:attendance_id>/verification")
class VerifyOne(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(VerifyIn)
    @blp.response(201, VerificationOut)
    def post(self, body, attendance_id):
        """Accept (optionally trimming minutes) or reject one attendance; acceptance queues the credit."""
        return verification.verify(db.session, current_actor(), attendance_id, **body)

    @auth(BEARER)
    @blp.response(200, VerificationOut)
    def get(self, attendance_id):
        row = attendance.get_visible(db.session, current_actor(), attendance_id)
        if row.verification is None:
            raise NotFound("not_verified")
        return row.verification


@blp.route("/attendances/verifications")
class VerifyBulk(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(VerifyBulkIn)
    @blp.response(201, VerificationListOut)
    def post(self, body):
        """Verify many attendances at once: all are written or none (the error names the failing one)."""
        return {"items": verification.verify_many(db.session, current_actor(), body["items"])}


@blp.route("/attendances/<int:attendance_id>/complaints")
class FileComplaint(MethodView):
    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(ComplaintIn)
    @blp.response(201, ComplaintOut)
    def post(self, body, attendance_id):
        """Complain about an accepted attendance (the resident served, or an admin)."""
        return verification.file_complaint(db.session, current_actor(), attendance_id, text=body["text"])


@blp.route("/complaints/<int:complaint_id>/decision")
class DecideComplaint(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(ComplaintDecisionIn)
    @blp.response(200, ComplaintOut)
    def post(self, body, complaint_id):
        """Uphold (the credit is reversed through the ledger) or dismiss a complaint."""
        return verification.decide_complaint(db.session, current_actor(), complaint_id, **body)
