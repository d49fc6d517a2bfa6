"""System check: the playground's limits and address range make sense."""

from dataclasses import fields

from django.conf import settings
from django.core.checks import Error, Warning, register

from playground.addresses import check_range
from playground.limits import Limits

# The JSON around a `send` command's data, so a full send fits in one message.
ENVELOPE_BYTES = 256


@register()
def check_playground(app_configs=None, **kwargs):
    errors = []
    configured = getattr(settings, "PLAYGROUND_LIMITS", {})
    names = {f.name for f in fields(Limits)}
    for name in sorted(set(configured) - names):
        errors.append(
            Error(
                f"PLAYGROUND_LIMITS has an unknown limit {name!r}.",
                hint=f"Known limits: {', '.join(sorted(names))}.",
                id="playground.E001",
            )
        )
    for name in sorted(set(configured) & names):
        value = configured[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            errors.append(
                Error(
                    f"PLAYGROUND_LIMITS[{name!r}] must be a positive number, not {value!r}.",
                    id="playground.E002",
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
    if limits.command_burst < 1:
        errors.append(
            Error("PLAYGROUND_LIMITS: command_burst must be at least 1.", id="playground.E004")
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
