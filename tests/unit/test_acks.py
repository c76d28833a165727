from replens.hub.acks import AckBook, to_ranges


def test_ranges_are_compact_and_inclusive():
    assert to_ranges([5, 1, 2, 3, 7, 7]) == [(1, 3), (5, 5), (7, 7)]


def test_acks_that_could_not_be_sent_are_confirmed_next_time():
    """Regression: the ack loop took the book, then the broker went: those seqs were never confirmed (the agent
    sent them again only after its 30 s resend timer)."""
    book = AckBook()
    book.add([("a1", 1), ("a1", 2), ("a1", 3), ("a2", 9)])
    taken = book.take()
    assert book.take() == {}
    book.add([("a1", 4)])
    book.add_ranges("a1", taken["a1"])
    assert book.take() == {"a1": [(1, 4)]}
