"""The org directory: the shipped file, lookups, and bad files stopping start-up with the line."""

from pathlib import Path

import pytest

from models.org import NEW_ROLE_LABELS, REQUIRED_ROLES, ROLES, OrgFileError, RoleNotHeld, UnknownPerson, load_org

SHIPPED = Path(__file__).resolve().parents[2] / "deployments" / "org.yaml"


def test_shipped_file_holds_every_role():
    org = load_org(SHIPPED)
    for role in ROLES:  # §7's roles included: gm_office, rd, legal_counsel, chairman, gate_guard, storekeeper
        assert org.people_for_role(role)
    assert org.roles_not_held() == []


def test_superior_chain_reaches_the_gm():
    org = load_org(SHIPPED)
    gm = org.first_for_role("general_manager").email
    chairman = org.first_for_role("chairman").email  # above the GM in the company, not in its escalation chain
    for p in org.people:
        if p.email == chairman:
            assert p.superior is None
            continue
        cur, steps = p, 0
        while cur.superior:
            cur = org.superior_of(cur.email)
            steps += 1
            assert steps < 20
        assert cur.email == gm


def test_lookups():
    org = load_org(SHIPPED)
    first, second = org.roles["l1_handler"][:2]
    assert [p.email for p in org.people_for_role("l1_handler")][:2] == [first, second]
    p = org.person(first)
    assert org.find(p.name) == p and org.find(first.upper()) == p and org.find("nobody") is None
    assert org.has_role(first, "l1_handler") and not org.has_role(first, "general_manager")
    with pytest.raises(UnknownPerson):
        org.person("ghost@x.example")


BASE = """company: T
departments:
  - {code: d, name: D}
people:
  - {email: a@x.example, name: A, department: d}
  - {email: b@x.example, name: B, department: d, superior: a@x.example}
roles:
"""


def _write(tmp_path, text, all_roles=True):
    roles = "".join(f"  {r}: [a@x.example]\n" for r in sorted(REQUIRED_ROLES)) if all_roles else ""
    f = tmp_path / "org.yaml"
    f.write_text(text + roles)
    return f


def test_minimal_valid_file(tmp_path):
    org = load_org(_write(tmp_path, BASE))
    assert org.superior_of("b@x.example").email == "a@x.example"


@pytest.mark.parametrize("text,line,needle", [
    (BASE.replace("superior: a@x.example", "superior: z@x.example"), 6, "z@x.example"),
    (BASE.replace("department: d, superior", "department: q, superior"), 6, "'q'"),
    (BASE.replace("b@x.example, name: B", "a@x.example, name: B"), 6, "duplicate"),
    (BASE.replace("b@x.example, name: B", "not-an-email, name: B"), 6, "not-an-email"),
    (BASE.replace("{email: a@x.example, name: A, department: d}",
                  "{email: a@x.example, name: A, department: d, superior: b@x.example}"), 5, "cycle"),
    (BASE.replace("people:", "people: [\n"), 6, "YAML"),
])
def test_bad_files_name_the_line(tmp_path, text, line, needle):
    with pytest.raises(OrgFileError) as e:
        load_org(_write(tmp_path, text))
    msg = str(e.value)
    assert f"line {line}" in msg and needle in msg and "组织架构文件" in msg


def test_unknown_role_and_unknown_member_and_missing_role(tmp_path):
    with pytest.raises(OrgFileError) as e:
        load_org(_write(tmp_path, BASE + "  wizard: [a@x.example]\n"))
    assert "wizard" in str(e.value) and "line 8" in str(e.value)
    with pytest.raises(OrgFileError) as e:
        load_org(_write(tmp_path, BASE + "  l1_handler: [ghost@x.example]\n", all_roles=False))
    assert "ghost@x.example" in str(e.value) and "line 8" in str(e.value)
    with pytest.raises(OrgFileError) as e:
        load_org(_write(tmp_path, BASE + "  l1_handler: [a@x.example]\n", all_roles=False))
    assert "missing roles" in str(e.value)


def test_an_org_file_written_before_the_new_roles_still_loads(tmp_path):
    """Issue 21: a file holding only the earlier roles loads; a step needing a new role refuses with a
    message naming the role and the procedure, in Chinese and English."""
    assert set(NEW_ROLE_LABELS) == {"gm_office", "rd", "legal_counsel", "chairman", "gate_guard", "storekeeper"}
    assert not set(NEW_ROLE_LABELS) & REQUIRED_ROLES
    org = load_org(_write(tmp_path, BASE))
    assert org.roles_not_held() == sorted(NEW_ROLE_LABELS)
    assert org.people_for_role("l1_handler")
    with pytest.raises(RoleNotHeld) as e:
        org.people_for_role("gate_guard")
    msg = str(e.value)
    assert "gate_guard" in msg and "门卫" in msg and "出门证" in msg and "nobody holds the role gate_guard" in msg
    with pytest.raises(RoleNotHeld, match="legal_counsel.*法律顾问"):
        org.first_for_role("legal_counsel")


def test_a_new_role_can_be_held_and_is_checked_like_the_others(tmp_path):
    org = load_org(_write(tmp_path, BASE + "  storekeeper: [b@x.example]\n"))
    assert [p.email for p in org.people_for_role("storekeeper")] == ["b@x.example"]
    assert "storekeeper" not in org.roles_not_held()
    with pytest.raises(OrgFileError, match="ghost@x.example"):
        load_org(_write(tmp_path, BASE + "  chairman: [ghost@x.example]\n"))
