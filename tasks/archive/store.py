"""The customer archive and transaction history part of `Store` (mixed into it).

Every change to an archive record is a new version row written in the same transaction as the
record; a version written by a case (a correction, a certification) is written once per case, so a
re-run step changes nothing the second time. A full (unmasked) read writes an access-log row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.archive.records import CustomerIn, TransactionIn, diff, masked_record, may_read_full
from models.tables import ArchiveAccess, Customer, CustomerVersion, Transaction

RECORD_FIELDS = ("archive_no", "name", "customer_class", "invoicing_name", "contact_name", "phone",
                 "email", "id_card", "legal_representative", "address", "registration",
                 "salesperson", "version")


class ArchiveError(ValueError):
    """A request the archive refuses; the message is Chinese / English."""


class CustomerNotFound(LookupError):
    pass


class ReadNotAllowed(PermissionError):
    pass


def record_of(c: Customer) -> dict[str, Any]:
    return {k: getattr(c, k) for k in RECORD_FIELDS}


class ArchiveStoreMixin:
    """Mixed into `Store`, whose `session()` and `_next_number()` it uses."""

    # ---- customers -------------------------------------------------------------------
    @staticmethod
    def _archive_no_taken(s: Session, archive_no: str) -> bool:
        return s.exec(select(Customer.id).where(Customer.archive_no == archive_no)).first() is not None

    def _add_customer(self, s: Session, row: CustomerIn, *, by: str, reason: str, source: str,
                      case_no: str | None, now: datetime) -> Customer:
        data = row.model_dump()
        given = data.pop("archive_no")
        archive_no = given or self._next_number(s, "DA", now.year)
        while not given and self._archive_no_taken(s, archive_no):  # skip numbers imported as given
            archive_no = self._next_number(s, "DA", now.year)
        if self._archive_no_taken(s, archive_no):
            raise ArchiveError(f"档案编号已存在 / archive number already exists: {archive_no}")
        c = Customer(archive_no=archive_no, version=1, created_at=now, updated_at=now, **data)
        s.add(c)
        s.add(CustomerVersion(archive_no=archive_no, version=1, changed_by=by, changed_at=now,
                              reason=reason, source=source, case_no=case_no, before={},
                              after={k: v for k, v in record_of(c).items() if k != "version"}))
        return c

    def create_customer(self, row: CustomerIn, *, by: str, reason: str, source: str, now: datetime,
                        case_no: str | None = None) -> Customer:
        """A new archive record (version 1). With a case number, a second call for the same case
        returns the record the first one created."""
        with self.session() as s:
            if case_no:
                done = s.exec(select(CustomerVersion.archive_no).where(
                    CustomerVersion.case_no == case_no, CustomerVersion.version == 1)).first()
                if done:
                    return s.exec(select(Customer).where(Customer.archive_no == done)).one()
            c = self._add_customer(s, row, by=by, reason=reason, source=source, case_no=case_no, now=now)
            s.commit()
            return c

    def import_customers(self, rows: Sequence[CustomerIn], *, by: str, now: datetime) -> list[str]:
        """Load good rows in one transaction: all of them or (on any failure) none."""
        with self.session() as s:
            numbers = [self._add_customer(s, r, by=by, reason="导入 / import", source="import",
                                          case_no=None, now=now).archive_no for r in rows]
            s.commit()
            return numbers

    def get_customer(self, archive_no: str) -> Customer:
        with self.session() as s:
            c = s.exec(select(Customer).where(Customer.archive_no == archive_no)).first()
            if c is None:
                raise CustomerNotFound(archive_no)
            return c

    def existing_archive_numbers(self, numbers: Sequence[str]) -> set[str]:
        with self.session() as s:
            return set(s.exec(select(Customer.archive_no).where(Customer.archive_no.in_(list(numbers)))).all())

    def masked_customer(self, archive_no: str) -> dict[str, Any]:
        return masked_record(record_of(self.get_customer(archive_no)))

    def read_full_customer(self, archive_no: str, *, reader: str, role: str, purpose: str,
                           now: datetime) -> dict[str, Any]:
        """The unmasked record for an authorised role (查阅权限), logged (查阅登记)."""
        if not may_read_full(role):
            raise ReadNotAllowed(role)
        with self.session() as s:
            c = s.exec(select(Customer).where(Customer.archive_no == archive_no)).first()
            if c is None:
                raise CustomerNotFound(archive_no)
            s.add(ArchiveAccess(archive_no=archive_no, reader=reader, role=role, purpose=purpose, at=now))
            s.commit()
            return record_of(c)

    def archive_accesses(self, archive_no: str) -> list[ArchiveAccess]:
        with self.session() as s:
            return list(s.exec(select(ArchiveAccess).where(ArchiveAccess.archive_no == archive_no)
                               .order_by(ArchiveAccess.id)).all())

    def apply_customer_changes(self, archive_no: str, changes: dict[str, Any], *, by: str, reason: str,
                               case_no: str, now: datetime) -> CustomerVersion:
        """Apply validated field changes as a new version. Once per case: a re-run returns the
        version this case already wrote."""
        with self.session() as s:
            done = s.exec(select(CustomerVersion).where(CustomerVersion.archive_no == archive_no,
                                                        CustomerVersion.case_no == case_no)).first()
            if done is not None:
                return done
            c = s.exec(select(Customer).where(Customer.archive_no == archive_no).with_for_update()).first()
            if c is None:
                raise CustomerNotFound(archive_no)
            before = record_of(c)
            for k, v in changes.items():
                setattr(c, k, v)
            c.version += 1
            c.updated_at = now
            after = record_of(c)
            changed = diff(before, after)
            changed.pop("version", None)
            v = CustomerVersion(archive_no=archive_no, version=c.version, changed_by=by, changed_at=now,
                                reason=reason, source="correction", case_no=case_no,
                                before={k: pair[0] for k, pair in changed.items()},
                                after={k: pair[1] for k, pair in changed.items()})
            s.add(c)
            s.add(v)
            s.commit()
            return v

    def hand_over_customers(self, from_person: str, to_person: str, *, by: str, now: datetime) -> list[str]:
        """A3 (000 «3» 六): a leaving employee's customers go to their successor — one new version
        per customer, all in one transaction. Returns the archive numbers handed over."""
        reason = f"离职交接 / hand-over: {from_person} → {to_person}"
        with self.session() as s:
            rows = list(s.exec(select(Customer).where(func.lower(Customer.salesperson) == from_person.lower())
                               .order_by(Customer.archive_no).with_for_update()).all())
            for c in rows:
                old = c.salesperson
                c.salesperson = to_person.lower()
                c.version += 1
                c.updated_at = now
                s.add(c)
                s.add(CustomerVersion(archive_no=c.archive_no, version=c.version, changed_by=by, changed_at=now,
                                      reason=reason, source="handover", before={"salesperson": old},
                                      after={"salesperson": c.salesperson}))
            s.commit()
            return [c.archive_no for c in rows]

    def customer_versions(self, archive_no: str) -> list[CustomerVersion]:
        with self.session() as s:
            return list(s.exec(select(CustomerVersion).where(CustomerVersion.archive_no == archive_no)
                               .order_by(CustomerVersion.version)).all())

    # ---- transactions ----------------------------------------------------------------
    def import_transactions(self, rows: Sequence[TransactionIn], *, case_no: str | None = None) -> int:
        """All rows in one transaction; a duplicate reference fails the whole load."""
        with self.session() as s:
            for r in rows:
                s.add(Transaction(case_no=case_no, **r.model_dump()))
            try:
                s.commit()
            except IntegrityError as e:
                s.rollback()
                raise ArchiveError("单据号重复 / duplicate document number (reference)") from e
            return len(rows)

    def record_transaction(self, row: TransactionIn, *, case_no: str) -> bool:
        """One transaction written by a flow (e.g. a booked return); once per reference."""
        with self.session() as s:
            if s.exec(select(Transaction.id).where(Transaction.reference == row.reference)).first():
                return False
            s.add(Transaction(case_no=case_no, **row.model_dump()))
            s.commit()
            return True

    def existing_references(self, references: Sequence[str]) -> set[str]:
        with self.session() as s:
            return set(s.exec(select(Transaction.reference).where(
                Transaction.reference.in_(list(references)))).all())

    def transactions_of(self, name: str, *, since: date, until: date,
                        kinds: Sequence[str] = ("sale", "return")) -> list[Transaction]:
        """The trades of a customer (by customer or invoicing name) in [since, until]."""
        with self.session() as s:
            q = select(Transaction).where(
                (Transaction.customer == name) | (Transaction.invoicing_name == name),
                Transaction.on >= since, Transaction.on <= until, Transaction.kind.in_(list(kinds)))
            return list(s.exec(q.order_by(Transaction.on)).all())

    def transaction_count(self) -> int:
        with self.session() as s:
            return int(s.exec(select(func.count()).select_from(Transaction)).one())
