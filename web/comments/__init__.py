"""An invoice's comment thread: who may write (codes, sessions, TOTP), the form per reader, posting."""
