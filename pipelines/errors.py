"""The one error type users see: a one-line message, never a traceback."""


class UserError(Exception):
    """A problem the user can fix (bad setting, missing folder, unreadable file); shown as one line."""
