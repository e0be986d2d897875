from aftercart.core import events


def test_events_reach_subscribers_after_commit_and_not_when_muted(
    django_capture_on_commit_callbacks, db
):
    seen = []

    def handler(event):
        seen.append((event.name, event.data))

    events.subscribe("order.placed", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            events.publish("order.placed", 1, order_id=7)
            assert seen == []  # not before the commit
        assert seen == [("order.placed", {"order_id": 7})]
        with django_capture_on_commit_callbacks(execute=True), events.muted():
            events.publish("order.placed", 1, order_id=8)
        assert seen == [("order.placed", {"order_id": 7})]
    finally:
        events.unsubscribe("order.placed", handler)


def test_a_failing_subscriber_does_not_stop_the_others(django_capture_on_commit_callbacks, db):
    seen = []

    def broken(event):
        raise RuntimeError("boom")

    events.subscribe("shipment.delivered", broken)
    events.subscribe("shipment.delivered", lambda e: seen.append(e.name))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            events.publish("shipment.delivered", 1)
        assert seen == ["shipment.delivered"]
    finally:
        events._handlers["shipment.delivered"].clear()
