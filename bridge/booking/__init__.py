"""Booking rules (``rules``, pure) and the checked write every booking path uses (``guard``)."""
