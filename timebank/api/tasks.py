"""Tasks (社区派单) and claims (党员接单): publish, browse open tasks, claim, withdraw, no-show, the site QR."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from timebank import links
from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.hours import (
    CheckinTokenOut,
    ClaimOut,
    ClaimQuery,
    TaskCancelIn,
    TaskEditIn,
    TaskIn,
    TaskOut,
    TaskQuery,
)
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.hours import checkin_tokens, claims, tasks
from timebank.hours.models import Claim, Task

blp = Blueprint("tasks", __name__, url_prefix="/api", description="Tasks (社区派单) and claims (党员接单)")
TaskPage = page_schema(TaskOut, "TaskPage")
ClaimPage = page_schema(ClaimOut, "ClaimPage")


@blp.route("/tasks")
class TaskList(MethodView):
    @auth(BEARER)
    @blp.arguments(TaskQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, TaskPage)
    def get(self, query, **page):
        """Open tasks to claim: published, not ended, with a free slot (filter by community, category, time)."""
        current_actor()
        return paginate_by_id(db.session, tasks.open_tasks_stmt(**query), Task.id, page)

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(TaskIn)
    @blp.response(201, TaskOut)
    def post(self, body):
        """Publish a task in my community, from a need or as the community's own activity."""
        return tasks.publish(db.session, current_actor(), **body)


@blp.route("/tasks/<int:task_id>")
class TaskItem(MethodView):
    @auth(BEARER)
    @blp.response(200, TaskOut)
    def get(self, task_id):
        current_actor()
        return tasks.get(db.session, task_id)

    @auth(BEARER)
    @write()
    @blp.arguments(TaskEditIn)
    @blp.response(200, TaskOut)
    def patch(self, body, task_id):
        """Edit a published task (title, place, description; times and slots before it starts). Claimants
        are told what changed."""
        return tasks.edit(db.session, current_actor(), task_id, changes=body)


@blp.route("/tasks/<int:task_id>/cancel")
class TaskCancel(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(TaskCancelIn, required=False)
    @blp.response(200, TaskOut)
    def post(self, body, task_id):
        """Cancel a task that has not ended: active claims are released and their claimants told."""
        return tasks.cancel(db.session, current_actor(), task_id, reason=(body or {}).get("reason"))


@blp.route("/tasks/<int:task_id>/claims")
class TaskClaims(MethodView):
    @auth(BEARER)
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, ClaimPage)
    def get(self, task_id, **page):
        """The task's claims, for its grid worker and admins."""
        task = tasks.get_for_field(db.session, current_actor(), task_id)
        return paginate_by_id(db.session, claims.task_claims_stmt(task), Claim.id, page)

    @auth(BEARER)
    @write(idempotent=True)
    @blp.response(201, ClaimOut)
    def post(self, task_id):
        """Claim a slot (409 `task_full` when none is left)."""
        return claims.claim(db.session, current_actor(), task_id)


@blp.route("/tasks/<int:task_id>/checkin-token")
class TaskCheckinToken(MethodView):
    @auth(BEARER)
    @blp.response(200, CheckinTokenOut)
    def get(self, task_id):
        """A fresh signed check-in code for the site's QR (grid worker / admin); refresh it every minute."""
        task = tasks.get_for_field(db.session, current_actor(), task_id)
        issued = checkin_tokens.issue(current_app.config["SECRET_KEY"], task)
        url = links.checkin_url(issued.token)
        return {"token": issued.token, "url": url, "task_id": task.id, "expires_at": issued.expires_at,
                "refresh_after_seconds": checkin_tokens.ROTATE_SECONDS}


@blp.route("/claims/<int:claim_id>")
class ClaimItem(MethodView):
    @auth(BEARER)
    @blp.response(200, ClaimOut)
    def get(self, claim_id):
        return claims.get_visible(db.session, current_actor(), claim_id)


@blp.route("/claims/<int:claim_id>/withdraw")
class ClaimWithdraw(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, ClaimOut)
    def post(self, claim_id):
        """Give the slot back, before the task starts."""
        return claims.withdraw(db.session, current_actor(), claim_id)


@blp.route("/claims/<int:claim_id>/no-show")
class ClaimNoShow(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, ClaimOut)
    def post(self, claim_id):
        """Mark a claimant who did not come (grid worker / admin, after the start)."""
        return claims.mark_no_show(db.session, current_actor(), claim_id)


@blp.route("/me/claims")
class MyClaims(MethodView):
    @auth(BEARER)
    @blp.arguments(ClaimQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, ClaimPage)
    def get(self, query, **page):
        """My claims, newest first."""
        stmt = claims.my_claims_stmt(current_actor(), status=query["status"])
        return paginate_by_id(db.session, stmt, Claim.id, page, descending=True)
