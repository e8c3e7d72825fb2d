"""The org directory: the shipped file, lookups, and bad files stopping start-up with the line."""

from pathlib import Path

import pytest

from models.org import REQUIRED_ROLES, OrgFileError, UnknownPerson, load_org

SHIPPED = Path(__file__).resolve().parents[2] / "deployments" / "org.yaml"


def test_shipped_file_holds_every_role():
    org = load_org(SHIPPED)
    for role in REQUIRED_ROLES:
        assert org.people_for_role(role)


def test_superior_chain_reaches_the_gm():
    org = load_org(SHIPPED)
    gm = org.first_for_role("general_manager").email
    for p in org.people:
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
