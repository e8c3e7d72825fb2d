"""The customer archive and transaction history: rules, store (in-memory fake) and the CSV imports."""

import json
import os
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.archive.records import (CustomerIn, TransactionIn, diff, id_card_valid, masked_record, may_read_full,
                            validate_changes)
from tests.dbs import fresh_store
from tasks.platform.store import Store
from tasks.archive.store import ArchiveError, ReadNotAllowed

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]
GOOD_ID = "11010519491231002X"  # the GB 11643 example: check character X


def customer(**kw):
    return CustomerIn(**{"name": "苏州纺织有限公司", "customer_class": "enterprise", "phone": "13812345678",
                         "id_card": GOOD_ID, **kw})


def test_id_card_check_character():
    assert id_card_valid(GOOD_ID)
    assert not id_card_valid("110105194912310021")  # wrong check character
    assert not id_card_valid("110105194902300028")  # 30 February


def test_customer_validation_messages_name_the_field_in_both_languages():
    with pytest.raises(ValidationError) as e:
        CustomerIn(name="x", customer_class="enterprise", phone="12345")
    assert "电话号码无效 / invalid phone number" in str(e.value)
    with pytest.raises(ValidationError):
        CustomerIn(name="x", customer_class="alien")
    assert customer().invoicing_name == "苏州纺织有限公司"  # defaults to the name


def test_changes_validated_and_limited_to_editable_fields():
    assert validate_changes({"phone": "+86 139 1234 5678"}) == {"phone": "13912345678"}
    with pytest.raises(ValueError, match="archive_no"):
        validate_changes({"archive_no": "DA-2026-000009"})
    with pytest.raises(ValueError):
        validate_changes({"id_card": "110105194912310021"})
    with pytest.raises(ValueError):
        validate_changes({})


def test_masked_record_and_diff():
    rec = masked_record({"phone": "13812345678", "id_card": GOOD_ID, "name": "甲"})
    assert rec == {"phone": "138****5678", "id_card": "110105********002X", "name": "甲"}
    assert diff({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": [2, 3]}
    assert may_read_full("cs_manager") and not may_read_full("salesperson")


def test_versions_full_read_log_and_idempotent_correction():
    store = fresh_store()
    c = store.create_customer(customer(), by="clerk@x.example", reason="新建", source="import", now=NOW)
    assert c.archive_no == "DA-2026-000001" and c.version == 1
    v = store.apply_customer_changes(c.archive_no, {"address": "苏州工业园区"}, by="gm@x.example",
                                     reason="地址变更", case_no="GZ-2026-000001", now=NOW)
    again = store.apply_customer_changes(c.archive_no, {"address": "别处"}, by="gm@x.example",
                                         reason="重跑", case_no="GZ-2026-000001", now=NOW)
    assert (v.version, again.version) == (2, 2)
    assert store.get_customer(c.archive_no).address == "苏州工业园区"
    versions = store.customer_versions(c.archive_no)
    assert [x.version for x in versions] == [1, 2]
    assert versions[1].before == {"address": ""} and versions[1].after == {"address": "苏州工业园区"}
    assert store.masked_customer(c.archive_no)["phone"] == "138****5678"
    with pytest.raises(ReadNotAllowed):
        store.read_full_customer(c.archive_no, reader="s@x.example", role="salesperson", purpose="", now=NOW)
    assert store.archive_accesses(c.archive_no) == []
    full = store.read_full_customer(c.archive_no, reader="m@x.example", role="cs_manager", purpose="核对", now=NOW)
    assert full["id_card"] == GOOD_ID
    assert [a.reader for a in store.archive_accesses(c.archive_no)] == ["m@x.example"]


def test_certification_creates_one_record_per_case():
    store = fresh_store()
    a = store.create_customer(customer(), by="b@x.example", reason="认定", source="certification", now=NOW,
                              case_no="XK-2026-000001")
    b = store.create_customer(customer(), by="b@x.example", reason="认定", source="certification", now=NOW,
                              case_no="XK-2026-000001")
    assert a.archive_no == b.archive_no


def test_automatic_numbers_skip_numbers_imported_as_given():
    store = fresh_store()
    store.import_customers([customer(archive_no="DA-2026-000001"), customer(archive_no="DA-2026-000002")],
                           by="import", now=NOW)
    new = store.create_customer(customer(), by="b@x.example", reason="认定", source="certification", now=NOW)
    assert new.archive_no == "DA-2026-000003"


def test_hand_over_writes_a_version_per_customer():
    store = fresh_store()
    store.import_customers([customer(archive_no="DA-2026-000001", salesperson="Lin.Tao@huajin.example"),
                            customer(archive_no="DA-2026-000002", salesperson="guo.xin@huajin.example"),
                            customer(archive_no="DA-2026-000003", salesperson="lin.tao@huajin.example")],
                           by="import", now=NOW)
    moved = store.hand_over_customers("lin.tao@huajin.example", "guo.xin@huajin.example", by="hr@x.example",
                                      now=NOW)
    assert moved == ["DA-2026-000001", "DA-2026-000003"]
    assert store.get_customer("DA-2026-000002").version == 1
    v = store.customer_versions("DA-2026-000003")[-1]
    assert (v.version, v.source, v.before, v.after, v.changed_by) == (
        2, "handover", {"salesperson": "lin.tao@huajin.example"}, {"salesperson": "guo.xin@huajin.example"},
        "hr@x.example")
    assert store.get_customer("DA-2026-000001").salesperson == "guo.xin@huajin.example"


def test_import_is_all_or_nothing_in_the_store():
    store = fresh_store()
    rows = [customer(archive_no="DA-2026-000100"), customer(archive_no="DA-2026-000100")]
    with pytest.raises(ArchiveError):
        store.import_customers(rows, by="import", now=NOW)
    assert store.existing_archive_numbers(["DA-2026-000100"]) == set()


def test_transactions_window_excludes_samples():
    store = fresh_store()
    rows = [TransactionIn(reference=f"T{i}", customer="甲公司", on=d, amount=Decimal("10.00"), kind=k)
            for i, (d, k) in enumerate([(date(2023, 11, 24), "sale"), (date(2025, 1, 1), "sample"),
                                        (date(2026, 11, 1), "sale")])]
    assert store.import_transactions(rows) == 3
    found = store.transactions_of("甲公司", since=date(2023, 11, 25), until=date(2026, 11, 25))
    assert [t.reference for t in found] == ["T2"]
    with pytest.raises(ArchiveError):
        store.import_transactions([rows[0]])
    assert store.transaction_count() == 3


def _kefu(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KEFU_HOME": str(home), "KEFU_ENV": "test", "KEFU_EMBEDDED_DATABASE": "sqlite"}
    return subprocess.run([sys.executable, "-m", "deployments.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_imports_report_bad_lines_and_load_good_rows(tmp_path):
    assert _kefu(tmp_path, "migrate").returncode == 0
    csv = tmp_path / "customers.csv"
    csv.write_text(
        "archive_no,name,customer_class,phone,id_card,registration.licence_no\n"
        f"DA-2026-000001,甲公司,enterprise,13812345678,{GOOD_ID},91320500MA1\n"
        "DA-2026-000002,乙,alien,,,\n"
        "DA-2026-000001,丙公司,dealer,,,\n"
        "DA-2026-000003,丁公司,dealer,0512-66661234,,\n", encoding="utf-8")
    r = _kefu(tmp_path, "archive", "import", str(csv))
    assert r.returncode == 2, r.stderr
    assert "第 3 行 / line 3" in r.stderr and "第 4 行 / line 4" in r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"loaded": 2, "rejected": 2}
    from models.db import make_engine

    store = Store(make_engine(f"sqlite:///{tmp_path / 'kefu.db'}"))
    assert store.get_customer("DA-2026-000001").registration == {"licence_no": "91320500MA1"}
    assert store.existing_archive_numbers(["DA-2026-000002", "DA-2026-000003"]) == {"DA-2026-000003"}

    tx = tmp_path / "tx.csv"
    tx.write_text("reference,customer,on,amount,kind\nS1,甲公司,2026-10-01,100.50,sale\n"
                  "S2,甲公司,2026-13-01,1,sale\nS3,甲公司,2026-10-02,abc,sale\nS1,甲公司,2026-10-03,1,sale\n",
                  encoding="utf-8")
    r = _kefu(tmp_path, "import", "transactions", str(tx))
    assert r.returncode == 2 and "line 3" in r.stderr and "line 4" in r.stderr and "line 5" in r.stderr
    assert "line 2" not in r.stderr
    # nothing half-written: one bad row keeps the whole file out
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"loaded": 0, "rejected": 3}
    assert store.transaction_count() == 0
    tx.write_text("单据号,客户,开票资料名称,日期,金额,类型\nS1,甲公司,甲公司,2026-10-01,100.50,销售\n"
                  "S2,甲公司,,2026-10-02,0,样品\nS3,甲公司,,2026-10-09,-20.00,return\n", encoding="utf-8")
    r = _kefu(tmp_path, "import", "transactions", str(tx))
    assert r.returncode == 0, r.stderr
    assert store.transaction_count() == 3
    assert [t.kind for t in store.transactions_of("甲公司", since=date(2026, 1, 1), until=date(2026, 12, 31),
                                                  kinds=("sale", "sample", "return"))] == ["sale", "sample", "return"]
    r = _kefu(tmp_path, "import", "transactions", str(tx))  # the same file again: duplicates, nothing new
    assert r.returncode == 2 and "duplicate reference: S1" in r.stderr and store.transaction_count() == 3


def test_cli_show_masks_and_full_read_needs_an_authorised_role_and_is_logged(tmp_path):
    assert _kefu(tmp_path, "migrate").returncode == 0
    csv = tmp_path / "customers.csv"
    csv.write_text("archive_no,name,customer_class,phone,id_card,salesperson\n"
                   f"DA-2026-000001,甲公司,enterprise,13812345678,{GOOD_ID},lin.tao@huajin.example\n",
                   encoding="utf-8")
    assert _kefu(tmp_path, "archive", "import", str(csv)).returncode == 0
    r = _kefu(tmp_path, "archive", "show", "DA-2026-000001")
    assert json.loads(r.stdout)["phone"] == "138****5678" and json.loads(r.stdout)["id_card"] == "110105********002X"
    r = _kefu(tmp_path, "archive", "show", "DA-2026-000001", "--full", "--reader", "li.na@huajin.example",
              "--purpose", "看看")
    assert r.returncode == 2 and "无权查阅完整档案" in r.stderr and "may not read full archives" in r.stderr
    r = _kefu(tmp_path, "archive", "show", "DA-2026-000001", "--full", "--reader", "huang.li@huajin.example")
    assert r.returncode == 2 and "--purpose" in r.stderr
    r = _kefu(tmp_path, "archive", "show", "DA-2026-000001", "--full", "--reader", "huang.li@huajin.example",
              "--purpose", "年度核对")
    assert r.returncode == 0 and json.loads(r.stdout)["id_card"] == GOOD_ID
    r = _kefu(tmp_path, "archive", "show", "DA-2026-000404")
    assert r.returncode == 2 and "not found" in r.stderr
    r = _kefu(tmp_path, "archive", "handover", "--from", "lin.tao@huajin.example", "--to", "nobody@x.example")
    assert r.returncode == 2 and "not in the org directory" in r.stderr
    r = _kefu(tmp_path, "archive", "handover", "--from", "lin.tao@huajin.example", "--to", "guo.xin@huajin.example")
    assert r.returncode == 0 and json.loads(r.stdout)["handed_over"] == ["DA-2026-000001"]
    from models.db import make_engine

    store = Store(make_engine(f"sqlite:///{tmp_path / 'kefu.db'}"))
    assert [(a.reader, a.role, a.purpose) for a in store.archive_accesses("DA-2026-000001")] == [
        ("huang.li@huajin.example", "archive_clerk", "年度核对")]
    assert store.get_customer("DA-2026-000001").salesperson == "guo.xin@huajin.example"
