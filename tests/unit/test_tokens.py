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


# ---- decision points the mutation run of `models/tokens.py` found untested (session 13) -------------------
def _signed(payload, salt="kefu.decision-link.v1"):
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(SECRET, salt=salt).dumps(payload)


EXP = int(NOW.timestamp()) + 86400


def test_a_link_is_signed_for_decision_links_only_and_carries_its_expiry():
    claim = read_token(SECRET, _signed([7, "a@b.example", EXP]), NOW)
    assert (claim.task_id, claim.person, claim.expires_at) == (7, "a@b.example", EXP)
    for salt in ("itsdangerous", "kefu.session"):  # the same secret signing something else is no link
        with pytest.raises(InvalidToken):
            read_token(SECRET, _signed([7, "a@b.example", EXP], salt), NOW)


@pytest.mark.parametrize("payload", [
    ["7", "a@b.example", EXP], [True, "a@b.example", EXP], [7, "a@b.example", str(EXP)], [7, "a@b.example", True],
    [7, 5, EXP], [7, None, EXP], [0, "a@b.example", EXP], [2**31, "a@b.example", EXP], [7, "", EXP],
    [7, "a" * 201, EXP], [7, "a\nb@x.example", EXP], [7, "a\x1fb@x.example", EXP],
])
def test_a_link_with_a_mistyped_or_out_of_range_claim_is_refused(payload):
    with pytest.raises(InvalidToken):
        read_token(SECRET, _signed(payload), NOW)


@pytest.mark.parametrize("task_id,person", [(1, "a"), (2**31 - 1, "a" * 200), (7, "a b@x.example")])
def test_a_link_at_the_edges_of_its_claim_is_read(task_id, person):
    assert read_token(SECRET, _signed([task_id, person, EXP]), NOW).task_id == task_id


def test_a_link_may_expire_up_to_its_longest_life_and_7_days_of_clock_skew_ahead():
    limit = int(NOW.timestamp()) + (30 + 7) * 86400
    assert read_token(SECRET, _signed([7, "a@b.example", limit]), NOW, 30).expires_at == limit
    with pytest.raises(InvalidToken):
        read_token(SECRET, _signed([7, "a@b.example", limit + 1]), NOW, 30)
    longest = int(NOW.timestamp()) + (3650 + 7) * 86400  # no setting: MAX_AGE_DAYS; a setting above it is capped
    for setting in (None, 0, 99999):
        assert read_token(SECRET, _signed([7, "a@b.example", longest]), NOW, setting).expires_at == longest
        with pytest.raises(InvalidToken):
            read_token(SECRET, _signed([7, "a@b.example", longest + 1]), NOW, setting)
