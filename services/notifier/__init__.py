"""The notifier: reads `order.status` as a fan-out reader and pushes statuses to browsers over SSE.

It owns nothing durable: a restarted replica rebuilds recent history from the stream.
"""
