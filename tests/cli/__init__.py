"""tdrun's tests (a package, so their shared helpers are imported by a name of their own)."""
