"""The samples procedure's steps, intake and registration."""
