from shop.pricing import price


def order_total(lines):
    total = 0
    for unit_cents, quantity in lines:
        total += price(unit_cents, quantity)
    return total
