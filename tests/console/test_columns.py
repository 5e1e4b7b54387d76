"""Table columns fit the terminal: the ones that matter stay at 80 columns, all widen at 120."""

from __future__ import annotations

from console.views.columns import PADDING, Column, fit
from console.widgets.main.packages_pane import PackagesPane
from console.widgets.main.queue_pane import QueuePane
from console.widgets.main.subscriptions_pane import SubscriptionsPane


def _labels(columns: tuple[Column, ...], width: int) -> list[str]:
    return [columns[index].label for index, _ in fit(columns, width)]


def _used(layout: tuple[tuple[int, int], ...]) -> int:
    return sum(width + 2 * PADDING for _, width in layout)


def test_everything_fits_when_there_is_room() -> None:
    columns = (Column("A", 5), Column("B", 5, drop=1))
    assert fit(columns, 40) == ((0, 5), (1, 5))


def test_droppable_columns_go_highest_first_until_the_rest_fit() -> None:
    columns = (Column("A", 10), Column("B", 10, drop=1), Column("C", 10, drop=2), Column("D", 10))
    assert _labels(columns, 48) == ["A", "B", "C", "D"]
    assert _labels(columns, 47) == ["A", "B", "D"]
    assert _labels(columns, 35) == ["A", "D"]


def test_the_first_column_is_never_dropped() -> None:
    columns = (Column("A", 30, drop=5), Column("B", 10))
    assert _labels(columns, 20) == ["A", "B"]


def test_spare_width_goes_to_growing_columns_up_to_their_most() -> None:
    columns = (Column("A", 10, grow=1, most=12), Column("B", 10), Column("C", 10, grow=1))
    layout = dict(fit(columns, 60))
    assert layout[0] == 12 and layout[1] == 10
    assert _used(fit(columns, 60)) == 60  # C took the rest


def test_queue_at_80_columns_keeps_status_age_and_some_of_the_last_error() -> None:
    labels = _labels(QueuePane.COLUMNS, 79)
    assert labels[:3] == ["Job", "Account", "Status"]
    assert "Age" in labels and labels[-1] == "Last error"
    layout = dict(fit(QueuePane.COLUMNS, 79))
    assert layout[8] >= 20  # Last error
    assert layout[7] >= len("29d 23h")  # Age is never cut
    assert _used(fit(QueuePane.COLUMNS, 79)) <= 79


def test_packages_at_80_columns_show_their_router() -> None:
    assert "Router" in _labels(PackagesPane.COLUMNS, 79)
    assert _used(fit(PackagesPane.COLUMNS, 79)) <= 79


def test_columns_widen_with_the_terminal() -> None:
    narrow = dict(fit(PackagesPane.COLUMNS, 79))
    wide = dict(fit(PackagesPane.COLUMNS, 119))
    assert wide[0] > narrow[0] > 0  # Name
    assert len(wide) == len(PackagesPane.COLUMNS)  # the profile is back at 120
    assert wide[5] >= len("PPPOE_20M_10MUP_PERSONAL")
    subscriptions = _labels(SubscriptionsPane.COLUMNS, 119)
    assert subscriptions == [column.label for column in SubscriptionsPane.COLUMNS]
