"""What a router holds out of the box: identity, resources, interfaces, an address."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from scheduler.sim.behaviour import Behaviour
from scheduler.sim.engine import MenuEngine
from scheduler.sim.table import Row
from scheduler.sim.values import format_duration

TOTAL_MEMORY = 1073741824


def install_factory_config(
    engine: MenuEngine, identity: str, interfaces: int, mac_seed: int
) -> None:
    """Fill identity, interfaces ether1..N and the 192.168.88.1/24 address on ether1."""
    engine.table("/system/identity").insert({"name": identity}, 0, builtin=True)
    ether = engine.table("/interface")
    for index in range(1, interfaces + 1):
        name = f"ether{index}"
        ether.insert(
            {
                "name": name,
                "default-name": name,
                "type": "ether",
                "mtu": "1500",
                "actual-mtu": "1500",
                "l2mtu": "1514",
                "max-l2mtu": "9796",
                "mac-address": _mac(mac_seed, index),
                "link-downs": "0",
                "running": "true",
                "disabled": "false",
            }
        )
    if interfaces:
        engine.table("/ip/address").insert(
            {
                "address": "192.168.88.1/24",
                "network": "192.168.88.0",
                "interface": "ether1",
                "actual-interface": "ether1",
                "invalid": "false",
                "dynamic": "false",
                "disabled": "false",
            }
        )


def install_resource(
    engine: MenuEngine,
    behaviour: Behaviour,
    ros_version: str,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """The /system/resource row, with uptime, load and free memory that move."""
    booted = clock()
    table = engine.table("/system/resource")
    table.insert(
        {
            "uptime": "0s",
            "version": f"{ros_version} (stable)",
            "build-time": behaviour.format_date(time.time() - 30 * 86400),
            "factory-software": "7.1" if ros_version.startswith("7") else "6.0",
            "free-memory": str(TOTAL_MEMORY * 3 // 4),
            "total-memory": str(TOTAL_MEMORY),
            "cpu": "Common",
            "cpu-count": "1",
            "cpu-frequency": "2099",
            "cpu-load": "0",
            "free-hdd-space": "17019092992",
            "total-hdd-space": "17040297984",
            "write-sect-since-reboot": "15160",
            "write-sect-total": "15160",
            "architecture-name": "x86_64",
            "board-name": "CHR",
            "platform": "MikroTik",
        },
        0,
        builtin=True,
    )
    jitter = random.Random(ros_version)

    def live(row_id: str, row: Row) -> dict[str, str]:
        return {
            "uptime": format_duration(int(clock() - booted)),
            "cpu-load": str(jitter.randrange(0, 12)),
            "free-memory": str(TOTAL_MEMORY * 3 // 4 - jitter.randrange(0, 1 << 22)),
        }

    table.live = live


def _mac(seed: int, index: int) -> str:
    return "4C:5E:0C:" + ":".join(f"{b:02X}" for b in ((seed >> 8) & 0xFF, seed & 0xFF, index))
