"""System check: the playground's limits, address range and descriptor budget make sense.

Each limit takes the values its field's metadata in playground.wire.limits says: a
positive number (E002), or 0 where it may be; a whole number where it must be (E012);
at most its `max` (E014) and at least its `min` (E004).

Packet capture: `capture_history` and `payload_preview` are whole numbers (0 keeps
no history, or shows no payload), and a full history fits in a `hello` with room to
spare (HELLO_PACKETS_BYTES, at the longest a packet event can be as JSON).

The accept queue and SYNs: `listen_backlog` and `syn_retries` are whole numbers with
a `max` (E014).

The descriptor budget: every sandbox socket and every WebSocket is an open file
of the server process. At worst each of `sandboxes_per_process` sandboxes holds
`sockets_per_sandbox` sockets, one more being accepted, and
`websockets_per_session` WebSockets; with `descriptor_reserve` left for the site
(pages, the database, static files) that must fit under the process's soft
RLIMIT_NOFILE, which PlaygroundConfig.ready raises to the hard limit first.

A server started without the system check (Daphne runs none) still keeps that
budget: at ASGI start-up `fit_to_descriptors` lowers the playground's share to what
fits (fewer sandboxes, the reserve scaled with them) and logs one line saying so;
where not even one sandbox fits, the server refuses to start. Lowering, rather
than refusing, keeps a laptop or a small container serving pages and a smaller
playground, while a few addresses still cannot take every descriptor.
"""

import logging
import resource
from dataclasses import fields

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from playground.host.addresses import check_range
from playground.host.netns import Namespace
from playground.wire.limits import Limits

# The JSON around a `send` command's data, so a full send fits in one message.
ENVELOPE_BYTES = 256
# The kept packets go in the hello, one WebSocket message of at most 1 MiB
# (playground.wire.protocol.MESSAGE_BYTES) with the sockets and the rest: half of it at most.
HELLO_PACKETS_BYTES = 512 * 1024
# A packet event as JSON without its payload, at the longest (every field at its widest),
# and the most a payload byte can take (a control character escaped as \u001f).
PACKET_EVENT_BYTES = 520
PAYLOAD_BYTE_JSON = 6


def hello_packets_bytes(limits: Limits) -> int:
    """The most a full packet history can take in a hello."""
    return int(limits.capture_history) * (
        PACKET_EVENT_BYTES + PAYLOAD_BYTE_JSON * int(limits.payload_preview)
    )


log = logging.getLogger(__name__)


def descriptors_per_sandbox(limits: Limits) -> int:
    return int(limits.sockets_per_sandbox + 1 + limits.websockets_per_session)


def worst_case_descriptors(limits: Limits) -> int:
    return int(limits.sandboxes_per_process * descriptors_per_sandbox(limits)) + int(
        limits.descriptor_reserve
    )


def fit_to_descriptors() -> None:
    """At ASGI start-up (sockets_site.asgi): make the local engine's sandboxes fit this
    process's RLIMIT_NOFILE, as playground.E009 demands of a checked start.

    Raises the soft limit towards the hard one first; then, if the worst case still
    does not fit, lowers PLAYGROUND_LIMITS' sandboxes_per_process (and
    reserved_sandboxes in proportion) and logs one line; if not one sandbox fits,
    raises ImproperlyConfigured. Limits that fail the system check's other rules
    are left for it to report."""
    from playground.apps import raise_descriptor_limit

    if settings.PLAYGROUND_ENGINE != "local":
        return  # sandboxes live in sandbox processes, whose command runs the check (E009)
    raise_descriptor_limit()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    configured = dict(getattr(settings, "PLAYGROUND_LIMITS", {}))
    names = {f.name for f in fields(Limits)}
    try:
        limits = Limits(**{k: v for k, v in configured.items() if k in names})
        needed = worst_case_descriptors(limits)
    except (TypeError, ValueError):
        return
    if soft == resource.RLIM_INFINITY or needed <= soft:
        return
    per_sandbox = descriptors_per_sandbox(limits)
    fitting = (soft - int(limits.descriptor_reserve)) // per_sandbox
    if fitting < 1:
        raise ImproperlyConfigured(
            f"The playground cannot start: this process may open {soft} file descriptors "
            f"(RLIMIT_NOFILE), fewer than one sandbox needs ({per_sandbox}) on top of "
            f"descriptor_reserve ({limits.descriptor_reserve}). Raise the limit (ulimit -n, "
            "systemd LimitNOFILE=) or lower PLAYGROUND_DESCRIPTOR_RESERVE."
        )
    was = int(limits.sandboxes_per_process)
    reserved = int(limits.reserved_sandboxes) * fitting // was
    settings.PLAYGROUND_LIMITS = {
        **configured,
        "sandboxes_per_process": fitting,
        "reserved_sandboxes": min(reserved, fitting - 1),
    }
    log.warning(
        "playground: serving at most %d sandboxes, not %d: this process may open %d file "
        "descriptors (RLIMIT_NOFILE) and %d sandboxes could need %d; raise the limit "
        "(ulimit -n, systemd LimitNOFILE=) to serve more.",
        fitting,
        was,
        soft,
        was,
        needed,
    )


@register()
def check_playground(app_configs=None, **kwargs):
    errors = []
    configured = getattr(settings, "PLAYGROUND_LIMITS", {})
    rules = {f.name: f.metadata for f in fields(Limits)}
    names = set(rules)
    for name in sorted(set(configured) - names):
        errors.append(
            Error(
                f"PLAYGROUND_LIMITS has an unknown limit {name!r}.",
                hint=f"Known limits: {', '.join(sorted(names))}.",
                id="playground.E001",
            )
        )
    for name in sorted(set(configured) & names):
        value, rule = configured[name], rules[name]
        lowest_ok = 0 if rule["may_be_zero"] else 1e-9
        if isinstance(value, bool) or not isinstance(value, int | float) or value < lowest_ok:
            errors.append(
                Error(
                    f"PLAYGROUND_LIMITS[{name!r}] must be a positive number, not {value!r}.",
                    id="playground.E002",
                )
            )
        elif rule["whole"] and value != int(value):
            errors.append(
                Error(
                    f"PLAYGROUND_LIMITS[{name!r}] must be a whole number, not {value!r}.",
                    id="playground.E012",
                )
            )
        elif rule["max"] is not None and value > rule["max"]:
            errors.append(
                Error(
                    f"PLAYGROUND_LIMITS[{name!r}] may be at most {rule['max']}, not {value!r}.",
                    id="playground.E014",
                )
            )
    if errors:
        return errors
    limits = Limits(**{k: v for k, v in configured.items() if k in names})
    if limits.send_bytes + ENVELOPE_BYTES > limits.message_bytes:
        errors.append(
            Error(
                "PLAYGROUND_LIMITS: send_bytes must leave room for the command around it in "
                f"message_bytes ({limits.send_bytes} + {ENVELOPE_BYTES} > {limits.message_bytes}).",
                id="playground.E003",
            )
        )
    for name, rule in rules.items():
        if rule["min"] is not None and getattr(limits, name) < rule["min"]:
            errors.append(
                Error(
                    f"PLAYGROUND_LIMITS: {name} must be at least {rule['min']}.",
                    id="playground.E004",
                )
            )
    if limits.reserved_sandboxes >= limits.sandboxes_per_process:
        errors.append(
            Error(
                f"PLAYGROUND_LIMITS: reserved_sandboxes ({limits.reserved_sandboxes}) must be "
                f"less than sandboxes_per_process ({limits.sandboxes_per_process}).",
                id="playground.E008",
            )
        )
    if hello_packets_bytes(limits) > HELLO_PACKETS_BYTES:
        errors.append(
            Error(
                f"PLAYGROUND_LIMITS: a full packet history (capture_history "
                f"{limits.capture_history} x payload_preview {limits.payload_preview}) could take "
                f"{hello_packets_bytes(limits)} bytes of a hello, more than "
                f"{HELLO_PACKETS_BYTES}.",
                hint="Keep fewer packets (capture_history) or show less of each (payload_preview).",
                id="playground.E013",
            )
        )
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = worst_case_descriptors(limits)
    if soft != resource.RLIM_INFINITY and needed > soft:
        errors.append(
            Error(
                f"The playground may need {needed} file descriptors, more than this process may "
                f"open ({soft}, RLIMIT_NOFILE): sandboxes_per_process "
                f"({limits.sandboxes_per_process}) x (sockets_per_sandbox "
                f"({limits.sockets_per_sandbox}) + 1 + websockets_per_session "
                f"({limits.websockets_per_session})) + descriptor_reserve "
                f"({limits.descriptor_reserve}).",
                hint="Raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) or lower the "
                "playground's limits; pages would fail with EMFILE once sandboxes took them all.",
                id="playground.E009",
            )
        )
    try:
        network = check_range(settings.PLAYGROUND_ADDRESS_RANGE)
    except ValueError as exc:
        errors.append(Error(f"PLAYGROUND_ADDRESS_RANGE: {exc}.", id="playground.E005"))
    else:
        needed = 2 * limits.sandboxes_per_process
        if network.num_addresses - 2 < needed:
            errors.append(
                Error(
                    f"PLAYGROUND_ADDRESS_RANGE {network} has room for "
                    f"{(network.num_addresses - 2) // 2} sandboxes, fewer than "
                    f"sandboxes_per_process ({limits.sandboxes_per_process}).",
                    id="playground.E006",
                )
            )
    tick = settings.PLAYGROUND_KERNEL_TICK
    if not isinstance(tick, int | float) or tick <= 0:
        errors.append(
            Error(
                "PLAYGROUND_KERNEL_TICK must be a positive number of seconds.", id="playground.E007"
            )
        )
    elif tick > 0.3:
        errors.append(
            Warning(
                f"PLAYGROUND_KERNEL_TICK is {tick}s: kernel states will reach students late.",
                id="playground.W001",
            )
        )
    return errors


@register()
def check_engine(app_configs=None, **kwargs):
    """PLAYGROUND_ENGINE: a kind of playground.engines.ENGINES; `pool` with its Redis."""
    from playground.engines import ENGINES

    engine = settings.PLAYGROUND_ENGINE
    if engine not in ENGINES:
        kinds = " or ".join(repr(kind) for kind in ENGINES)
        return [Error(f"PLAYGROUND_ENGINE must be {kinds}, not {engine!r}.", id="playground.E010")]
    if engine == "pool" and not settings.REDIS_URL:
        return [
            Error(
                "PLAYGROUND_ENGINE=pool needs REDIS_URL: the pool's placements, leases and "
                "quotas live in Redis.",
                hint="Set REDIS_URL (e.g. redis://localhost:6379/0), or PLAYGROUND_ENGINE=local.",
                id="playground.E011",
            )
        ]
    return []


@register()
def check_network_namespace(app_configs=None, **kwargs):
    """Warn where sandboxes share the host's network: the sandbox's own rules are then
    the only wall between a visitor and the host's services."""
    if not settings.PLAYGROUND_NETWORK_NAMESPACE:
        reason = "PLAYGROUND_NETWORK_NAMESPACE is 0"
    else:
        namespace = Namespace()
        if namespace.start():
            namespace.stop()
            return []
        reason = namespace.reason
    return [
        Warning(
            f"Playground sandboxes will use the host's network ({reason}).",
            hint="Host services stay refused by the sandbox's own rules, but a visitor's "
            "sockets then share the host's ports and its kernel table. Allow unprivileged "
            "user namespaces (sysctl kernel.unprivileged_userns_clone=1, or "
            "user.max_user_namespaces > 0) to give the playground a network of its own.",
            id="playground.W002",
        )
    ]
