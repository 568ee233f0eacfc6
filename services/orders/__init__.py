"""The marketplace side: owns products, stock, orders and payments; consumes checkouts."""
