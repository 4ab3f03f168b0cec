"""WHAT WAS BUILT FROM WHAT: pure keys, the SQLite trace store and the content-addressed objects."""
