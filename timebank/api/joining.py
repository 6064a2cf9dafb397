"""Joining: the community picker and self-registration (anonymous), one's join requests, the community's
decisions, password reset by code, and bulk import of people (preview, commit, template).

`POST /api/signup` takes the phone, the sign-up code sent by `POST /api/codes` (purpose `signup`), the name, the
ID number, the community and a password; it answers 201 with the person's volunteer number, the join request and
a bearer token, so the app can show the request's status at once. A wrong code counts a try: it is committed,
then refused. The same ID number or phone registered twice — even at the same moment — is a 409
(`id_number_taken`, `phone_taken`)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from timebank import uow
from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.joining import (
    CommunityTreeOut,
    ImportCommitQuery,
    ImportFileIn,
    ImportPreviewOut,
    ImportPreviewQuery,
    ImportResultOut,
    JoinAskIn,
    JoinQuery,
    JoinRequestList,
    JoinRequestOut,
    PasswordResetIn,
    PasswordResetOut,
    RefusalIn,
    SignUpIn,
    SignUpOut,
    TemplateQuery,
)
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.http import attachment
from timebank.joining import imports, passwords, signup
from timebank.joining.models import JoinRequest
from timebank.people import orgs, security

blp = Blueprint("joining", __name__, url_prefix="/api",
                description="Joining: sign-up, join requests, password reset by code, bulk import of people")
JoinRequestPage = page_schema(JoinRequestOut, "JoinRequestPage")


@blp.route("/communities")
class Communities(MethodView):
    @blp.doc(security=[])
    @blp.response(200, CommunityTreeOut)
    def get(self):
        """The tree a person picks their community from (district → street → community): names only."""
        return {"items": signup.community_tree(db.session)}


@blp.route("/signup")
class SignUp(MethodView):
    @blp.doc(security=[])
    @blp.arguments(SignUpIn)
    @blp.response(201, SignUpOut)
    def post(self, body):
        """Register oneself with a real name and ask to join a community (see the module's note)."""
        result = signup.sign_up(db.session, id_number_key=current_app.config["ID_NUMBER_HASH_KEY"], **body)
        if result.refusal is not None:
            uow.commit()  # the wrong try counts
            raise result.refusal
        person, request_row = result.person, result.join_request
        uow.commit()
        token = security.issue_token(current_app.config["SECRET_KEY"], person.id, person.token_version)
        return {"person_id": person.id, "volunteer_no": person.volunteer_no, "join_request": request_row,
                "access_token": token, "token_type": "Bearer", "expires_in": current_app.config["TOKEN_TTL_SECONDS"]}


@blp.route("/auth/password-reset")
class PasswordReset(MethodView):
    @blp.doc(security=[])
    @blp.arguments(PasswordResetIn)
    @blp.response(200, PasswordResetOut)
    def post(self, body):
        """A new password with a code sent by `POST /api/codes` (purpose `reset_password`); every session of the
        person, on every device, ends. Imported people set their first password this way."""
        _person, refusal = passwords.reset_password(db.session, phone=body["phone"], code=body["code"],
                                                    new_password=body["new_password"])
        uow.commit()
        if refusal is not None:
            raise refusal
        return {"reset": True}


@blp.route("/me/join-requests")
class MyJoinRequests(MethodView):
    @auth(BEARER)
    @blp.response(200, JoinRequestList)
    def get(self):
        """The caller's join requests, newest first (the first one is the status the app shows)."""
        return {"items": signup.mine(db.session, current_actor())}

    @auth(BEARER)
    @write()
    @blp.arguments(JoinAskIn)
    @blp.response(201, JoinRequestOut)
    def post(self, body):
        """Ask (again) to join a community: after a refusal, or to another community."""
        return signup.ask_to_join(db.session, current_actor(), body["community_id"])


class _JoinQueryWithPage(JoinQuery, CursorArgs):
    pass


@blp.route("/join-requests")
class JoinRequests(MethodView):
    @auth(BEARER)
    @blp.arguments(_JoinQueryWithPage, location="query")
    @blp.response(200, JoinRequestPage)
    def get(self, args):
        """Join requests to communities under an org the caller administers or audits (`status` to filter)."""
        org = orgs.get(db.session, args["org_id"])
        stmt = signup.community_query(current_actor(), org, args["status"])
        return paginate_by_id(db.session, stmt, JoinRequest.id, args)


@blp.route("/join-requests/<int:request_id>")
class JoinRequestItem(MethodView):
    @auth(BEARER)
    @blp.response(200, JoinRequestOut)
    def get(self, request_id):
        return signup.get_visible(db.session, current_actor(), request_id)


@blp.route("/join-requests/<int:request_id>/approval")
class JoinApproval(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, JoinRequestOut)
    def post(self, request_id):
        """The community accepts the person: their home becomes the community, where they may claim tasks."""
        return signup.approve(db.session, current_actor(), request_id)


@blp.route("/join-requests/<int:request_id>/refusal")
class JoinRefusal(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(RefusalIn)
    @blp.response(200, JoinRequestOut)
    def post(self, body, request_id):
        """The community refuses, with a reason the person reads."""
        return signup.refuse(db.session, current_actor(), request_id, reason=body["reason"])


def _upload(files) -> tuple[bytes, str]:
    storage = files["file"]
    data = storage.read(imports.MAX_BYTES + 1)
    return data, storage.filename or ""


@blp.route("/imports/preview")
class ImportPreview(MethodView):
    @auth(BEARER, API_KEY)
    @blp.arguments(ImportPreviewQuery, location="query")
    @blp.arguments(ImportFileIn, location="files")
    @blp.response(200, ImportPreviewOut)
    def post(self, form, files):
        """Check a spreadsheet (XLSX or CSV, multipart `file`) without writing: counts and the errors per row.
        An employer's contact names its `employer_id` (query)."""
        data, name = _upload(files)
        result = imports.preview(db.session, current_actor(), data, name, employer_id=form["employer_id"],
                                 id_number_key=current_app.config["ID_NUMBER_HASH_KEY"])
        db.session.rollback()
        return result


@blp.route("/imports")
class ImportCommit(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.arguments(ImportCommitQuery, location="query")
    @blp.arguments(ImportFileIn, location="files")
    @blp.response(201, ImportResultOut)
    def post(self, form, files):
        """Import a spreadsheet (multipart `file`): `mode` (query) all_or_nothing — any row in error refuses the
        file — or valid_only. Rows of people already registered with the same data change nothing."""
        data, name = _upload(files)
        return imports.commit(db.session, current_actor(), data, name, mode=form["mode"],
                              id_number_key=current_app.config["ID_NUMBER_HASH_KEY"], employer_id=form["employer_id"])


@blp.route("/imports/template")
class ImportTemplate(MethodView):
    @blp.doc(security=[])
    @blp.arguments(TemplateQuery, location="query")
    @blp.response(200, description="The import template (XLSX or CSV) with the Chinese headers.")
    def get(self, args):
        """The import template: 姓名, 手机号, 身份证号, 所属社区, 类型, 工作单位, 党支部."""
        if args["format"] == "csv":
            return attachment(imports.template_csv(), "text/csv; charset=utf-8", "人员导入模板.csv")
        return attachment(imports.template_xlsx(), imports.XLSX_MIME, "人员导入模板.xlsx")
