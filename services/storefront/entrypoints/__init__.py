"""How the world reaches the storefront: the FastAPI app, its routes and the broker wiring."""
