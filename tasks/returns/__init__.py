"""The returns procedure's steps, intake and registration."""
