from datetime import datetime, timedelta, timezone

import pytest

from models.tokens import InvalidToken, check_csrf, csrf_for, make_token, read_token

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
SECRET = "s" * 32


def test_round_trip_binds_task_and_person():
    tok = make_token(SECRET, 42, "Li.Na@Huajin.example", NOW, 30)
    claim = read_token(SECRET, tok, NOW + timedelta(days=1))
    assert claim.task_id == 42 and claim.person == "li.na@huajin.example"


def test_expired_token_is_refused():
    tok = make_token(SECRET, 1, "a@b.example", NOW, 3)
    read_token(SECRET, tok, NOW + timedelta(days=3))
    with pytest.raises(InvalidToken):
        read_token(SECRET, tok, NOW + timedelta(days=3, seconds=1))


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: "x" + t,
    lambda t: t.replace(".", "", 1),
    lambda t: "garbage",
])
def test_altered_tokens_are_refused(mutate):
    tok = make_token(SECRET, 7, "a@b.example", NOW, 30)
    with pytest.raises(InvalidToken):
        read_token(SECRET, mutate(tok), NOW)


def test_other_secret_is_refused():
    tok = make_token("other-secret-xxxxxxxxxxxxxxxx", 7, "a@b.example", NOW, 30)
    with pytest.raises(InvalidToken):
        read_token(SECRET, tok, NOW)


def test_csrf_is_bound_to_the_token():
    t1 = make_token(SECRET, 1, "a@b.example", NOW, 30)
    t2 = make_token(SECRET, 2, "a@b.example", NOW, 30)
    assert check_csrf(SECRET, t1, csrf_for(SECRET, t1))
    assert not check_csrf(SECRET, t1, csrf_for(SECRET, t2))
    assert not check_csrf(SECRET, t1, "")
    assert not check_csrf(SECRET, t1, None)
    assert not check_csrf(SECRET, t1, "令牌" + csrf_for(SECRET, t1)[2:])  # non-ASCII: refused, no TypeError
    assert len(csrf_for(SECRET, t1)) == 32  # the hidden field's 128 bits, as the page renders it
