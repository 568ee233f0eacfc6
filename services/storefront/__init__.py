"""The storefront: the social / live-stream side of livecart.

It shows live rooms and their pinned products and turns a buyer's tap into a
`checkout.requested` event. It only offers and promotes: orders, payments and
stock of record belong to the marketplace (services/orders).
"""
