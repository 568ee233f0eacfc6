"""Adapters of the orders service: tables, repository and unit of work, payments, outbox relay."""
