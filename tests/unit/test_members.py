import re
import stat

import numpy as np
import pytest

from replens.members import MemberError, MembersStore, member_names

ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def face(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=128)


def raw_bytes(path):
    """Everything SQLite keeps for this database on disk: the file and any journal beside it."""
    data = path.read_bytes()
    for suffix in ("-journal", "-wal"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            data += extra.read_bytes()
    return data


@pytest.fixture
def store(tmp_path):
    with MembersStore(tmp_path / "members.sqlite3") as opened:
        yield opened


def test_add_list_get_rename(store):
    alice = store.add("Alice", [face(1), face(2)], consent=True)
    bob = store.add("Bob", [face(3)], consent=True, crops=[b"\xff\xd8jpeg"])
    assert ID.fullmatch(alice.id) and alice.id != bob.id and "alice" not in alice.id
    assert [(m.name, m.embeddings, m.crops) for m in store.members()] == [("Alice", 2, 0), ("Bob", 1, 1)]
    assert store.get("ALICE") == store.get(alice.id) == alice
    assert alice.consent_at.tzinfo is not None
    renamed = store.rename("alice", "Alice Smith")
    assert (renamed.id, renamed.name) == (alice.id, "Alice Smith")
    assert store.names() == {alice.id: "Alice Smith", bob.id: "Bob"}
    assert store.add_embeddings("Bob", [face(4)]).embeddings == 2
    gallery = store.gallery()
    assert [len(gallery[alice.id]), len(gallery[bob.id])] == [2, 2]
    assert gallery[alice.id][0].dtype == np.float32 and gallery[alice.id][0].shape == (128,)
    np.testing.assert_allclose(gallery[alice.id][1], face(2), rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("Carol", {"consent": False}, "consent must be recorded"),
        ("  ", {"consent": True}, "needs a name"),
        ("x" * 65, {"consent": True}, "at most 64"),
        ("bad\x00name", {"consent": True}, "control characters"),
    ],
)
def test_add_refuses(store, name, kwargs, message):
    with pytest.raises(MemberError, match=message):
        store.add(name, [face(1)], **kwargs)
    assert store.members() == []


def test_duplicate_names_are_refused_regardless_of_case(store):
    alice = store.add("Alice", [face(1)], consent=True)
    store.add("Bob", [face(2)], consent=True)
    with pytest.raises(MemberError, match=f"'Alice' \\(id {alice.id}\\) already has that name"):
        store.add("aLiCe", [face(3)], consent=True)
    with pytest.raises(MemberError, match="already has that name"):
        store.rename("Bob", "ALICE")
    assert store.rename("alice", "ALICE").name == "ALICE"  # changing one's own case is fine


@pytest.mark.parametrize("bad", [np.zeros(127), np.zeros((2, 128)), np.full(128, np.nan)])
def test_bad_embeddings_are_refused(store, bad):
    with pytest.raises(MemberError, match="expected 128 finite numbers"):
        store.add("Alice", [bad], consent=True)
    with pytest.raises(MemberError, match="at least one"):
        store.add("Alice", [], consent=True)


def test_unknown_member_suggests_a_close_name(store):
    store.add("Alice", [face(1)], consent=True)
    with pytest.raises(MemberError, match="did you mean 'Alice'"):
        store.get("alcie")
    with pytest.raises(MemberError, match="no member 'zed'"):
        store.delete("zed")


def test_files_are_owner_only(tmp_path):
    path = tmp_path / "new" / "dir" / "members.sqlite3"
    with MembersStore(path) as store:
        store.add("Alice", [face(1)], consent=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)
    MembersStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_delete_leaves_no_trace_in_the_file(tmp_path):
    path = tmp_path / "members.sqlite3"
    vector = face(7)
    with MembersStore(path) as store:
        alice = store.add("Alice Wonderland", [vector], consent=True, crops=[b"JPEG-OF-ALICE" * 20])
        store.add("Bob", [face(8)], consent=True)
        before = raw_bytes(path)
        assert vector.astype("<f4").tobytes() in before and b"Alice Wonderland" in before
        assert store.delete("alice wonderland") == alice
        assert [m.name for m in store.members()] == ["Bob"]
    after = raw_bytes(path)
    for trace in (vector.astype("<f4").tobytes(), b"Alice Wonderland", b"JPEG-OF-ALICE", alice.id.encode()):
        assert trace not in after


def test_purge_crops(store):
    store.add("Alice", [face(1)], consent=True, crops=[b"a", b"b"])
    assert store.purge_crops(older_than_days=30) == 0
    assert store.purge_crops(older_than_days=0) == 2
    assert store.get("Alice").crops == 0


def test_encrypted_round_trip_and_nothing_in_clear(tmp_path):
    path = tmp_path / "members.sqlite3"
    vector = face(5)
    with MembersStore(path, key="correct horse") as store:
        alice = store.add("Alice", [vector], consent=True, crops=[b"JPEG-OF-ALICE" * 10])
    assert vector.astype("<f4").tobytes() not in raw_bytes(path)
    assert b"JPEG-OF-ALICE" not in raw_bytes(path)
    with MembersStore(path, key="correct horse") as store:
        np.testing.assert_allclose(store.gallery()[alice.id][0], vector, rtol=1e-6)
    assert member_names(path) == {alice.id: "Alice"}  # names need no key: the hub reads them


def test_wrong_or_missing_key_is_refused_clearly(tmp_path):
    path = tmp_path / "members.sqlite3"
    MembersStore(path, key="right").close()
    with pytest.raises(MemberError, match=r"cannot decrypt the member gallery: wrong identity\.encryption_key\?"):
        MembersStore(path, key="wrong")
    with pytest.raises(MemberError, match=r"is encrypted: set identity\.encryption_key"):
        MembersStore(path)


def test_a_key_added_later_encrypts_the_existing_gallery(tmp_path):
    path = tmp_path / "members.sqlite3"
    vector = face(9)
    with MembersStore(path) as store:
        alice = store.add("Alice", [vector], consent=True)
    with MembersStore(path, key="now secret") as store:
        np.testing.assert_allclose(store.gallery()[alice.id][0], vector, rtol=1e-6)
    assert vector.astype("<f4").tobytes() not in raw_bytes(path)
    with pytest.raises(MemberError, match="is encrypted"):
        MembersStore(path)


def test_member_names_without_a_gallery(tmp_path):
    assert member_names(tmp_path / "nothing.sqlite3") == {}
    assert not (tmp_path / "nothing.sqlite3").exists()
