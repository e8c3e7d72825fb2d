"""The validation errors as people read them live in models/errors.py (shared by the web app, the
intake and the CLI, so nothing imports up into webapp/); these names stay importable from here."""

from models.errors import describe, describe_all, field_name, problem  # noqa: F401
