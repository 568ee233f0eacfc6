"""The separation audit's checks, one module each; every check returns a `CheckResult`."""
