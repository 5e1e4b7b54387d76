"""`wisp sim-mpesa`: the Daraja simulator in the foreground."""

from __future__ import annotations

import argparse
import re
import sys

DEFAULT_PORT = 8089
SANDBOX_SHORTCODE = "174379"
"""The sandbox's paybill; the simulator always knows it (its passkey is the sandbox's too)."""
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "": 1.0}


def seconds(text: str) -> float:
    """`2s`, `500ms`, `1m` or a bare number of seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (like 2s, 500ms or 1m)")
    return float(match.group(1)) * UNITS[match.group(2)]


def rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share from 0 to 1")
    return value


def outcome(text: str) -> tuple[str, int]:
    phone, _, code = text.partition("=")
    if not (phone.isdigit() and code.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not PHONE=RESULTCODE (254700000001=1032)")
    return phone, int(code)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 8089)")
    parser.add_argument(
        "--callback-delay",
        type=seconds,
        default=2.0,
        metavar="DURATION",
        help="time between an STK Push and its result callback (default 2s)",
    )
    parser.add_argument(
        "--drop-callbacks",
        type=rate,
        default=0.0,
        metavar="SHARE",
        help="share of callbacks never sent, the payment still made (e.g. 0.1)",
    )
    parser.add_argument(
        "--outcome",
        type=outcome,
        action="append",
        default=[],
        metavar="PHONE=CODE",
        help="fixed result for a phone (0 paid, 1032 cancelled, 1037 timeout); else at random",
    )
    parser.add_argument("--seed", type=int, help="seed of the random results and receipts")
    parser.add_argument("--consumer-key", help="accept only this consumer key (default: any)")
    parser.add_argument("--consumer-secret", help="accept only this consumer secret")
    parser.add_argument(
        "--shortcode",
        action="append",
        default=[],
        metavar="CODE=PASSKEY",
        help=f"another shortcode and its passkey (the sandbox's {SANDBOX_SHORTCODE} is always there)",
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from scheduler.mpesa_sim.app import SANDBOX_PASSKEY, Daraja, build_app

    passkeys = {SANDBOX_SHORTCODE: SANDBOX_PASSKEY}
    for item in args.shortcode:
        code, _, passkey = item.partition("=")
        if not code or not passkey:
            print(f"--shortcode {item!r} is not CODE=PASSKEY", file=sys.stderr)
            return 2
        passkeys[code] = passkey
    state = Daraja(
        consumer_key=args.consumer_key,
        consumer_secret=args.consumer_secret,
        passkeys=passkeys,
        callback_delay=args.callback_delay,
        drop_rate=args.drop_callbacks,
        outcomes=dict(args.outcome),
        seed=args.seed,
    )
    print(
        f"Daraja simulator on http://{args.host}:{args.port} (shortcodes "
        f"{', '.join(sorted(passkeys))}; callbacks after {args.callback_delay:g} s, "
        f"{args.drop_callbacks:.0%} dropped)",
        flush=True,
    )
    uvicorn.run(build_app(state), host=args.host, port=args.port, log_level="warning")
    return 0
