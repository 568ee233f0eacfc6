"""Plumbing every service uses the same way: settings, broker, wire format, database engine.

Not a service and not a contract: nothing domain-specific lives here.
"""
