from replens.device_agent.outbox import Outbox


class Clock:
    def __init__(self, t=1_000.0):
        self.t = t

    def __call__(self):
        return self.t


def payload(seq: int) -> bytes:
    return f'{{"seq": {seq}}}'.encode()


def test_sequence_numbers_start_at_creation_ms_and_survive_reopen(tmp_path):
    clock = Clock(1_700_000_000.0)
    box = Outbox(tmp_path / "o.sqlite3", clock=clock)
    first = box.append("t", payload)
    second = box.append("t", payload)
    assert first == 1_700_000_000_000 and second == first + 1
    box.close()
    clock.t += 5
    reopened = Outbox(tmp_path / "o.sqlite3", clock=clock)
    assert reopened.append("t", payload) == second + 1  # continues, does not restart at the clock
    assert [i.payload for i in reopened.unsent(10)] == [payload(first), payload(second), payload(second + 1)]


def test_new_outbox_file_continues_above_old_numbers(tmp_path):
    """Deleting the outbox file must not make the hub drop new events as duplicates."""
    clock = Clock(1_000.0)
    old = Outbox(tmp_path / "a.sqlite3", clock=clock)
    last_old = max(old.append("t", payload) for _ in range(50))
    clock.t += 1.0
    fresh = Outbox(tmp_path / "b.sqlite3", clock=clock)
    assert fresh.append("t", payload) > last_old


def test_confirm_removes_only_confirmed_and_resend_marks_unsent(tmp_path):
    clock = Clock()
    box = Outbox(tmp_path / "o.sqlite3", clock=clock)
    seqs = [box.append("t", payload) for _ in range(5)]
    box.mark_sent(seqs, box.resend_epoch)
    assert box.unsent(10) == []
    assert box.confirm([(seqs[0], seqs[1]), (seqs[3], seqs[3])]) == 3
    assert box.depth() == 2
    assert box.resend_all() == 2
    assert [i.seq for i in box.unsent(10)] == [seqs[2], seqs[4]]


def test_a_resend_between_taking_and_marking_events_wins(tmp_path):
    """Race: the publisher took events and published them on a connection that then dropped; the reconnect
    (paho's thread) marked everything for resending before the publisher marked them sent."""
    box = Outbox(tmp_path / "o.sqlite3", clock=Clock())
    seqs = [box.append("t", payload) for _ in range(3)]
    epoch = box.resend_epoch
    taken = [item.seq for item in box.unsent(10)]
    box.resend_all()  # on_connect, in between
    box.mark_sent(taken, epoch)
    assert [item.seq for item in box.unsent(10)] == seqs  # all go out again on the new connection
    box.mark_sent(seqs, box.resend_epoch)
    assert box.unsent(10) == []


def test_resend_older_than_and_oldest_age(tmp_path):
    clock = Clock(100.0)
    box = Outbox(tmp_path / "o.sqlite3", clock=clock)
    a = box.append("t", payload)
    box.mark_sent([a], box.resend_epoch)
    clock.t = 110.0
    b = box.append("t", payload)
    box.mark_sent([b], box.resend_epoch)
    assert box.oldest_age_s() == 10.0
    clock.t = 125.0
    assert box.resend_older_than(20.0) == 1
    assert [i.seq for i in box.unsent(10)] == [a]


def test_open_set_ledger_follows_the_events(tmp_path):
    clock = Clock(50.0)
    box = Outbox(tmp_path / "o.sqlite3", clock=clock)
    box.append("sets", payload, open_set=("s1", '{"reps": 1}'))
    clock.t = 52.0
    box.append("sets", payload, open_set=("s1", '{"reps": 2}'))
    box.append("sets", payload, open_set=("s2", '{"reps": 1}'))
    assert box.open_sets() == [("s1", '{"reps": 2}', 52.0), ("s2", '{"reps": 1}', 52.0)]
    box.append("sets", payload, closed_set="s1")
    box.close()
    assert Outbox(tmp_path / "o.sqlite3", clock=clock).open_sets() == [("s2", '{"reps": 1}', 52.0)]
