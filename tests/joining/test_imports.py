"""Bulk import of people: preview with errors per row in Chinese, all-or-nothing or valid rows only, the same file
twice creating nothing the second time, CSV in UTF-8 (with or without BOM) or GBK and XLSX, limits, and scope —
a community admin imports only into communities in scope, an employer's contact only its own in-service members."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from tests.conftest import bearer
from timebank.joining import imports
from timebank.joining.models import ImportBatch, JoinRequest
from timebank.people import orgs, partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.credit_code import make
from timebank.people.models import PartyMember, Person, Role, RoleGrant

from .people_data import code_for, id_number, new_phone

HEADERS = ["姓名", "手机号", "身份证号", "所属社区", "类型", "工作单位", "党支部"]


def csv_bytes(rows, *, encoding="utf-8-sig", headers=HEADERS) -> bytes:
    lines = [",".join(headers)] + [",".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows, headers=HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, path, data: bytes, headers, name="people.csv", **query):
    return client.post(path, query_string=query, data={"file": (io.BytesIO(data), name)}, headers=headers,
                       content_type="multipart/form-data")


@pytest.fixture
def employer(session, tree):
    unit = partners.create_employer(session, SYSTEM, name="市税务局", credit_code_value=make("11330100MB0000001"),
                                    org_id=tree.district.id)
    other = partners.create_employer(session, SYSTEM, name="市医院", credit_code_value=make("12330100MB0000002"),
                                     org_id=tree.district.id)
    orgs.create_branch(session, SYSTEM, name="税务局第一党支部", org_id=tree.district.id)
    session.commit()
    return unit, other


@pytest.fixture
def admin_a(tree, as_user):
    return as_user(Role.community_admin, tree.community_a)[1]


def volunteer_row(name="钱一", community="幸福社区", **over):
    row = {"name": name, "phone": new_phone(), "id": id_number(), "community": community, "kind": "志愿者",
           "employer": "", "branch": ""}
    row.update(over)
    return [row["name"], row["phone"], row["id"], row["community"], row["kind"], row["employer"], row["branch"]]


def test_preview_lists_every_bad_row_in_chinese_and_writes_nothing(client, session, tree, admin_a, employer):
    good = [volunteer_row("钱一"), volunteer_row("钱二", kind="在职党员", employer="市税务局",
                                                    branch="税务局第一党支部")]
    bad = [
        volunteer_row("", phone="12345"),  # row 4: no name, bad phone
        volunteer_row("孙三", id="110105194912310021"),  # row 5: check digit
        volunteer_row("李四", community="和谐社区"),  # row 6: a community outside the admin's scope
        volunteer_row("周五", kind="在职党员"),  # row 7: party member without employer
        volunteer_row("吴六", kind="居民"),  # row 8: unknown kind
        [good[0][0], new_phone(), good[0][2], "幸福社区", "志愿者", "", ""],  # row 9: ID repeated from row 2
    ]
    resp = upload(client, "/api/imports/preview", csv_bytes(good + bad), admin_a)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert (body["total"], body["new"], body["unchanged"], body["error_rows"]) == (8, 2, 0, 6)
    by_row = {}
    for e in body["errors"]:
        by_row.setdefault(e["row"], []).append((e["column"], e["message"]))
    assert {c for c, _ in by_row[4]} == {"姓名", "手机号"}
    assert by_row[5] == [("身份证号", "身份证号校验位不正确，请核对。")]
    assert by_row[6][0][0] == "所属社区" and "和谐社区" in by_row[6][0][1]
    assert by_row[7][0][0] == "工作单位"
    assert by_row[8][0][0] == "类型"
    assert by_row[9] == [("身份证号", "与第 2 行重复。")]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Person)) == 1  # the admin only


def test_all_or_nothing_refuses_then_valid_only_imports_and_a_second_import_changes_nothing(
        client, session, tree, admin_a, employer):
    rows = [volunteer_row(f"导入{i}") for i in range(5)] + [
        volunteer_row("党员甲", kind="在职党员", employer=employer[0].credit_code, branch="税务局第一党支部"),
        volunteer_row("坏行", id="123")]
    data = csv_bytes(rows)
    refused = upload(client, "/api/imports", data, admin_a, mode="all_or_nothing")
    assert refused.status_code == 422 and refused.json["code"] == "import_has_errors"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Person)) == 1

    done = upload(client, "/api/imports", data, admin_a, mode="valid_only")
    assert done.status_code == 201, done.json
    batch = done.json["batch"]
    assert (batch["total_rows"], batch["created"], batch["unchanged"], batch["refused"]) == (7, 6, 0, 1)
    assert done.json["errors"][0]["row"] == 8
    session.rollback()
    imported = session.scalars(select(Person).where(Person.name.like("导入%"))).all()
    assert len(imported) == 5 and all(p.home_org_id == tree.community_a.id and p.password_hash is None
                                      and p.volunteer_no == f"V{p.id:08d}" for p in imported)
    member = session.scalar(select(PartyMember).join(Person).where(Person.name == "党员甲"))
    assert member.employer_id == employer[0].id and member.branch_id is not None
    grants = session.scalar(select(func.count()).select_from(RoleGrant).where(RoleGrant.role == Role.volunteer))
    assert grants == 6 + 1  # and the admin's own

    again = upload(client, "/api/imports", data, admin_a, mode="valid_only")
    assert again.status_code == 201
    assert (again.json["batch"]["created"], again.json["batch"]["unchanged"]) == (0, 6)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Person)) == 7
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 2


def test_gbk_csv_and_xlsx_read_the_same(client, session, tree, admin_a):
    gbk = upload(client, "/api/imports/preview", csv_bytes([volunteer_row("郑七")], encoding="gbk"), admin_a)
    assert gbk.status_code == 200 and gbk.json["new"] == 1, gbk.json
    plain = upload(client, "/api/imports/preview", csv_bytes([volunteer_row("郑七")], encoding="utf-8"), admin_a)
    assert plain.status_code == 200 and plain.json["new"] == 1
    row = volunteer_row("王八")
    row[1] = int(row[1])  # Excel keeps a typed phone as a number
    resp = upload(client, "/api/imports", xlsx_bytes([row]), admin_a, name="人员.xlsx", mode="all_or_nothing")
    assert resp.status_code == 201 and resp.json["batch"]["created"] == 1, resp.json


def test_the_template_has_the_headers(client):
    csv_template = client.get("/api/imports/template?format=csv")
    assert csv_template.status_code == 200
    assert csv_template.data.decode("utf-8-sig").splitlines()[0] == ",".join(HEADERS)
    xlsx = client.get("/api/imports/template")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


@pytest.mark.parametrize("data, name, code", [
    (b"", "a.csv", "import_file_empty"),
    ("姓名,手机号\r\n张三,13800000000\r\n".encode(), "a.csv", "import_headers_missing"),
    (b"PK\x03\x04not really a zip", "a.xlsx", "import_file_unreadable"),
    (b"\xff\xfe\x00garbage\x81\x30", "a.csv", "import_file_unreadable"),
    (b"x" * (imports.MAX_BYTES + 1), "a.csv", "import_file_too_large"),
])
def test_files_that_cannot_be_imported_are_refused_in_chinese(client, admin_a, data, name, code):
    resp = upload(client, "/api/imports/preview", data, admin_a, name=name)
    assert resp.status_code == 422, resp.get_data(as_text=True)[:300]
    assert resp.json["code"] == code and resp.json["detail"]


def test_too_many_rows_and_a_missing_file_are_refused(client, admin_a, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    resp = upload(client, "/api/imports/preview", csv_bytes([volunteer_row() for _ in range(4)]), admin_a)
    assert resp.status_code == 422 and resp.json["code"] == "import_too_many_rows"
    missing = client.post("/api/imports/preview", data={}, headers=admin_a, content_type="multipart/form-data")
    assert missing.status_code == 422
    no_mode = upload(client, "/api/imports", csv_bytes([volunteer_row()]), admin_a)
    assert no_mode.status_code == 422


def test_a_volunteer_cannot_import(client, tree, as_user):
    _p, headers = as_user(None, home=tree.community_a)
    resp = upload(client, "/api/imports/preview", csv_bytes([volunteer_row()]), headers)
    assert resp.status_code == 403 and resp.json["code"] == "out_of_scope"


def test_an_employer_imports_only_its_own_in_service_members(client, session, app, tree, make_person, employer):
    unit, other = employer
    contact = make_person("税务局联络人")
    people.grant(session, None, contact, Role.employer_contact, employer_id=unit.id)
    session.commit()
    headers = bearer(app, contact)
    rows = [volunteer_row("党员乙", kind="在职党员", employer=""),
            volunteer_row("党员丙", kind="在职党员", employer="市税务局", community="和谐社区"),
            volunteer_row("外单位", kind="在职党员", employer="市医院"),
            volunteer_row("群众", kind="志愿者")]
    preview = upload(client, "/api/imports/preview", csv_bytes(rows), headers, employer_id=unit.id)
    assert preview.status_code == 200, preview.json
    assert preview.json["new"] == 2
    assert {(e["row"], e["column"]) for e in preview.json["errors"]} == {(4, "工作单位"), (5, "类型")}
    # Another employer's import is not theirs; without naming an employer they are no admin.
    assert upload(client, "/api/imports/preview", csv_bytes(rows), headers, employer_id=other.id).status_code == 403
    assert upload(client, "/api/imports/preview", csv_bytes(rows), headers).status_code == 403

    done = upload(client, "/api/imports", csv_bytes(rows), headers, employer_id=unit.id, mode="valid_only")
    assert done.status_code == 201 and done.json["batch"]["created"] == 2
    session.rollback()
    members = session.scalars(select(PartyMember)).all()
    assert {m.employer_id for m in members} == {unit.id} and len(members) == 2
    # The community decides: each imported member waits as a pending join request, with no home yet.
    requests = session.scalars(select(JoinRequest)).all()
    assert sorted(r.community_id for r in requests) == sorted([tree.community_a.id, tree.community_b.id])
    assert all(r.status == "pending" and r.person.home_org_id is None for r in requests)


def test_an_imported_person_sets_a_password_by_code_and_logs_in(client, session, tree, admin_a):
    row = volunteer_row("冯九")
    assert upload(client, "/api/imports", csv_bytes([row]), admin_a, mode="valid_only").status_code == 201
    assert client.post("/api/auth/token", json={"phone": row[1], "password": "anything-1"}).status_code == 401
    code = code_for(session, row[1], "reset_password")
    session.rollback()
    assert client.post("/api/auth/password-reset", json={"phone": row[1], "code": code,
                                                          "new_password": "my-password-1"}).status_code == 200
    assert client.post("/api/auth/token", json={"phone": row[1], "password": "my-password-1"}).status_code == 201
