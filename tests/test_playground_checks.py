from playground.checks import check_playground


def ids(settings, **changes):
    for name, value in changes.items():
        setattr(settings, name, value)
    return [message.id for message in check_playground()]


def test_it_accepts_the_default_settings(settings):
    assert ids(settings) == []


def test_it_refuses_unknown_and_non_positive_limits(settings):
    limits = settings.PLAYGROUND_LIMITS
    assert ids(settings, PLAYGROUND_LIMITS={**limits, "sockets_per_sandbox": 0}) == [
        "playground.E002"
    ]
    assert ids(settings, PLAYGROUND_LIMITS={**limits, "socket_count": 3}) == ["playground.E001"]


def test_it_wants_room_for_a_whole_send_in_one_message(settings):
    limits = {**settings.PLAYGROUND_LIMITS, "send_bytes": 4000, "message_bytes": 4096}
    assert ids(settings, PLAYGROUND_LIMITS=limits) == ["playground.E003"]


def test_it_refuses_an_unsafe_or_small_address_range(settings):
    assert ids(settings, PLAYGROUND_ADDRESS_RANGE="0.0.0.0/0") == ["playground.E005"]
    assert ids(settings, PLAYGROUND_ADDRESS_RANGE="127.0.0.0/8") == ["playground.E005"]
    assert ids(settings, PLAYGROUND_ADDRESS_RANGE="127.77.0.0/24") == ["playground.E006"]


def test_it_warns_about_a_slow_kernel_tick(settings):
    assert ids(settings, PLAYGROUND_KERNEL_TICK=1) == ["playground.W001"]
    assert ids(settings, PLAYGROUND_KERNEL_TICK=0) == ["playground.E007"]
