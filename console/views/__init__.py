"""Read models of the console: what each pane shows, queried as windows from the database.

No Textual here: these functions take a session and return plain rows, so they are tested without
an app and reused by the benchmark. Filtering and ordering happen in SQL; a pane never loads more
than its window.
"""
