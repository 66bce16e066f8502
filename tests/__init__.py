"""The test suite. Set before anything of the app is imported: tests make and sign in hundreds of console accounts,
and argon2id's deliberate cost (0.2 s of CPU a hash or a check) would be a minute or two of the suite's budget
(web/console/auth.py; tests/test_console_sign_in.py checks that a deployment hashes at full cost)."""

import os

os.environ.setdefault("INSECURE_FAST_PASSWORD_HASHING_FOR_TESTS", "1")
