"""Every decision page, submitted exactly as a browser submits it (issue 19): the rendered form read back
— every input, select and textarea, hidden and visible, blanks included (tests/forms.py) — with only what
a person must do on top (click a choice when the link names none, type the required fields the page leaves
blank), posted to the real web app on the fakes. A blank optional field is "not given"."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, get_args, get_origin

import pytest
from starlette.testclient import TestClient

from models.answers import ANSWER_MODELS, choices_of, extra_fields
from tests.fakes import fake_services, open_task, token_for
from tests.forms import control_names, form_fields
from webapp.app import create_app

ASSIGNEE = "li.na@huajin.example"


@pytest.fixture
def env(tmp_path):
    svc = fake_services(tmp_path)
    return svc, TestClient(create_app(svc), raise_server_exceptions=False)


def typed(model, name: str) -> str:
    """What a person types into a required field the page left blank."""
    ann = model.model_fields[name].annotation
    if get_origin(ann) is Literal:
        return str(get_args(ann)[0])
    if ann is int:
        return "1"
    if ann is Decimal:
        return "1.00"
    if getattr(ann, "__name__", "") == "date":
        return "2026-11-25"
    return "已处理"


def page(svc, client, model_name: str, step: str = "step", **kw):
    task = open_task(svc, "TS-2026-000001", step, ASSIGNEE, role="l1_handler", answer_model=model_name, **kw)
    token = token_for(svc, task, ASSIGNEE)
    r = client.get(f"/t/{token}")
    assert r.status_code == 200, r.text
    return task, token, r.text


@pytest.mark.parametrize("model_name", sorted(ANSWER_MODELS))
def test_every_answer_page_posted_back_as_rendered_is_accepted(env, model_name):
    svc, client = env
    model = ANSWER_MODELS[model_name]
    task, token, html = page(svc, client, model_name)
    names = control_names(html)
    assert {"csrf", "choice", "comment", *extra_fields(model)} <= set(names), names  # every field is on the page
    form = form_fields(html)
    form.setdefault("choice", choices_of(model)[0])  # the person clicks a choice
    needed = set(getattr(model, "needed", ()))  # required with the choice made (e.g. submitted, not returned)
    for name in extra_fields(model):
        f = model.model_fields[name]
        if (f.is_required() or name in needed or f.examples) and form.get(name, "") == "":
            form[name] = str(f.examples[0]) if f.examples else typed(model, name)
    r = client.post(f"/t/{token}", data=form)
    assert r.status_code == 200, r.text
    decided = svc.store.get_task(task.id)
    assert decided.state == "decided" and decided.decided_by == ASSIGNEE
    model.model_validate(decided.answer)


def test_the_outcome_page_of_a_repair_is_accepted_with_its_blank_amount_quantity_and_unit(env):
    """Issue 19: the outcome page was refused with 422 "return_quantity：必须是整数 … unit：不能少于 1 个字符"."""
    svc, client = env
    task, token, html = page(svc, client, "ComplaintOutcome")
    form = form_fields(html)
    assert form["loss_amount"] == form["return_quantity"] == form["unit"] == ""  # rendered blank, sent blank
    form |= {"handling": "repair", "responsibility_department": "售后服务部"}
    r = client.post(f"/t/{token}", data=form)
    assert r.status_code == 200, r.text
    answer = svc.store.get_task(task.id).answer
    assert (answer["handling"], answer["loss_amount"], answer["return_quantity"], answer["unit"]) == (
        "repair", "0", 0, "件")


def test_a_blank_required_field_is_still_refused(env):
    svc, client = env
    task, token, html = page(svc, client, "ComplaintOutcome")
    form = form_fields(html) | {"handling": "return"}  # a return with its amount and quantity left blank
    r = client.post(f"/t/{token}", data=form)
    assert r.status_code == 422 and svc.store.get_task(task.id).state != "decided"
    assert "loss_amount" in r.text or "金额" in r.text


def test_the_outcome_page_of_a_return_with_its_fields_typed_is_accepted(env):
    svc, client = env
    task, token, html = page(svc, client, "ComplaintOutcome")
    form = form_fields(html) | {"handling": "return", "responsibility_department": "生产部", "loss_amount": "1200.50",
                                "return_quantity": "40", "unit": "箱"}
    assert client.post(f"/t/{token}", data=form).status_code == 200
    answer = svc.store.get_task(task.id).answer
    assert (answer["loss_amount"], answer["return_quantity"], answer["unit"]) == ("1200.50", 40, "箱")


def test_a_required_choice_is_not_made_for_the_person(env):
    """A select without a blank option sends its first option: the booking's proof was "chosen" by the
    browser. Now the page offers 请选择, and the proof left unchosen is refused."""
    svc, client = env
    task, token, html = page(svc, client, "AllowanceBooking")
    form = form_fields(html)
    assert form["proof"] == "" and form["receivable_amount"] == ""
    form.setdefault("choice", "booked")
    assert client.post(f"/t/{token}", data=form).status_code == 422
    assert svc.store.get_task(task.id).state != "decided"
    assert client.post(f"/t/{token}", data=form | {"proof": "marked_invoice_copy"}).status_code == 200
