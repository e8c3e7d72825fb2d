"""Staff passwords live in tasks/platform/passwords.py (the CLI sets them too, and nothing imports up
into webapp/); these names stay importable from here."""

from tasks.platform.passwords import (MAX_LENGTH, MIN_LENGTH, PasswordRejected, check_new_password,  # noqa: F401
                                      hash_password, sign_in, verify)
