"""Prices with volume discounts."""

TIERS = ((100, 15), (10, 5))


def discount(quantity):
    for minimum, percent in TIERS:
        if quantity > minimum:
            return percent
    return 0


def price(unit_cents, quantity):
    gross = unit_cents * quantity
    off = gross * discount(quantity) // 100
    return gross - off
