"""The base of every error that is the operator's to act on, shown as one sentence, no traceback."""


class UserError(Exception):
    """Something the operator can fix: bad input, bad config, a database or router that is down."""
