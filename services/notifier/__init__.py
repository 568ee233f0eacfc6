"""The notifier: pushes order statuses, stock and sales to browsers over Server-Sent Events.

It owns nothing durable and only reads Redis: fan-out readers of `order.status`
(a doorbell), `catalog.changed`, `room.sales` and `room.changed`, and each buyer's capped
status stream, from which every buyer connection reads its history, resumes and goes live.
"""
