"""The storefront's adapters: its own database tables, the room repository, the event publisher."""
