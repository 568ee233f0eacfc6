"""The notifier's edges: the FastStream reader, the SSE routes and the app factory."""
