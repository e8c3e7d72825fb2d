"""A6 (procedures §7.2): the customer list (客户一览表) — archive no., name, class, responsible person,
status; masked — open at any time to the authorised (need-to-know as the masked archive record), and as
an Excel workbook. The real web app and store on the fakes."""

from __future__ import annotations

import io

from tests.fakes import NOW, add_api_key
from tests.unit.test_access import app, client, refused, staff, svc  # noqa: F401 - the fixtures

ARCHIVE_CLERK, SALESPERSON, OTHER_SALESPERSON, PRODUCTION = ("huang.li@huajin.example", "lin.tao@huajin.example",
                                                            "guo.xin@huajin.example", "han.xue@huajin.example")


def _customers(svc):  # noqa: F811
    from models.archive.records import CustomerIn

    svc.store.import_customers([
        CustomerIn(archive_no="DA-2026-000001", name="苏州锦华", customer_class="enterprise", phone="13812345678",
                   salesperson=SALESPERSON),
        CustomerIn(archive_no="DA-2026-000002", name="张三 13900001111", customer_class="resident",
                   salesperson=OTHER_SALESPERSON, registration={"archive_status": "inactive"})], by="import", now=NOW)


def test_the_archive_roles_read_every_customer_masked(svc, app):  # noqa: F811
    _customers(svc)
    r = staff(app, svc, ARCHIVE_CLERK).get("/api/customers")
    assert r.status_code == 200, r.text
    assert r.json() == {"total": 2, "items": [
        {"档案编号": "DA-2026-000001", "客户名称": "苏州锦华", "客户类别": "企事业单位", "负责人": "林涛", "状态": "有效"},
        {"档案编号": "DA-2026-000002", "客户名称": "张三 139****1111", "客户类别": "个人居民", "负责人": "郭欣",
         "状态": "已停用"}]}
    assert "13812345678" not in r.text and "13900001111" not in r.text
    assert client(app, add_api_key(svc, "read_customers")).get("/api/customers").json()["total"] == 2


def test_a_salesperson_reads_their_own_customers_and_others_are_refused(svc, app):  # noqa: F811
    _customers(svc)
    own = staff(app, svc, SALESPERSON).get("/api/customers").json()
    assert [i["档案编号"] for i in own["items"]] == ["DA-2026-000001"]
    refused(staff(app, svc, PRODUCTION).get("/api/customers"), 403, "客户一览表")
    refused(client(app).get("/api/customers"), 401)
    refused(client(app, add_api_key(svc, "read_cases")).get("/api/customers"), 403, "read_customers")


def test_the_list_as_an_excel_workbook(svc, app):  # noqa: F811
    import openpyxl

    _customers(svc)
    r = staff(app, svc, ARCHIVE_CLERK).get("/api/customers?format=xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    values = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    assert ["档案编号", "客户名称", "客户类别", "负责人", "状态"] in values
    assert ["DA-2026-000002", "张三 139****1111", "个人居民", "郭欣", "已停用"] in values
    assert "13900001111" not in str(values)
