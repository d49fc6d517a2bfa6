import resource

from playground.checks import check_network_namespace, check_playground


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


def test_it_checks_the_new_quotas(settings):
    limits = settings.PLAYGROUND_LIMITS
    assert ids(settings, PLAYGROUND_LIMITS={**limits, "reserved_sandboxes": 0}) == []
    assert ids(settings, PLAYGROUND_LIMITS={**limits, "websockets_per_session": 0}) == [
        "playground.E002"
    ]
    too_many = {**limits, "sandboxes_per_process": 10, "reserved_sandboxes": 10}
    assert ids(settings, PLAYGROUND_LIMITS=too_many) == ["playground.E008"]


def test_it_refuses_limits_whose_descriptors_do_not_fit_under_the_process_limit(settings):
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    limits = {**settings.PLAYGROUND_LIMITS, "sockets_per_sandbox": soft}
    assert ids(settings, PLAYGROUND_LIMITS=limits) == ["playground.E009"]
    settings.PLAYGROUND_LIMITS = limits
    (error,) = check_playground()
    assert f"than this process may open ({soft}" in error.msg


def test_it_is_quiet_when_sandboxes_get_a_network_of_their_own(settings):
    assert check_network_namespace() == []


def test_it_warns_when_sandboxes_share_the_hosts_network(settings):
    settings.PLAYGROUND_NETWORK_NAMESPACE = False
    [warning] = check_network_namespace()
    assert warning.id == "playground.W002"
    assert "host's network" in warning.msg and "PLAYGROUND_NETWORK_NAMESPACE is 0" in warning.msg


def test_it_wants_the_accept_queue_limits_whole_and_within_what_the_kernel_takes(settings):
    limits = settings.PLAYGROUND_LIMITS
    assert ids(settings, PLAYGROUND_LIMITS={**limits, "listen_backlog": 1, "syn_retries": 1}) == []
    assert ids(settings, PLAYGROUND_LIMITS={**limits, "listen_backlog": 0}) == ["playground.E002"]
    assert ids(settings, PLAYGROUND_LIMITS={**limits, "listen_backlog": 2.5}) == ["playground.E012"]
    assert ids(settings, PLAYGROUND_LIMITS={**limits, "syn_retries": 128}) == ["playground.E014"]
    assert ids(settings, PLAYGROUND_LIMITS={**limits, "listen_backlog": 129}) == ["playground.E014"]
