"""Entry points of the orders service: the checkout subscriber, HTTP routes, the app factory."""
