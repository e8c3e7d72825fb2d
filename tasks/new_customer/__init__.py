"""The new_customer procedure's steps, intake and registration."""
