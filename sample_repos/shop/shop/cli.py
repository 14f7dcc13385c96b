"""``shop``: quote an order from the command line.

shop quote --catalog products.json [--coupon CODE] [--region NY] SKU:QTY [SKU:QTY ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from shop.catalog import Catalog
from shop.errors import ShopError
from shop.inventory import Inventory
from shop.models import Order, OrderLine, Quote
from shop.money import format_money
from shop.services import OrderService


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Run the command in ``argv``; 0 on success, 1 (with a message on stderr) on failure."""
    args = _parser().parse_args(argv)
    try:
        catalog = Catalog.load(args.catalog)
        order = Order("cli", tuple(_line(text) for text in args.lines), args.coupon, args.region)
        service = OrderService(catalog, Inventory({}))
        out.write(render_quote(service.quote(order)))
        return 0
    except (ShopError, OSError, ValueError) as exc:
        print(f"shop: {exc}", file=sys.stderr)
        return 1


def render_quote(quote: Quote) -> str:
    """The quote as the CLI prints it: one row per line, then the totals."""
    rows = [
        (
            f"{line.product.sku} x{line.quantity}",
            format_money(line.gross),
            format_money(-line.discount) if line.discount else "",
        )
        for line in quote.lines
    ]
    rows.append(("Subtotal", format_money(quote.subtotal), ""))
    if quote.coupon_discount:
        rows.append(("Coupon", format_money(-quote.coupon_discount), ""))
    rows.append(("Tax", format_money(quote.tax), ""))
    rows.append(("Total", format_money(quote.total), ""))
    width = max(len(row[0]) for row in rows)
    return "".join(
        f"{label:<{width}} {amount:>12} {extra:>10}".rstrip() + "\n"
        for label, amount, extra in rows
    )


def _line(text: str) -> OrderLine:
    sku, _, quantity = text.partition(":")
    if not quantity.isdigit():
        raise ValueError(f"expected SKU:QUANTITY, got {text!r}")
    return OrderLine(sku.upper(), int(quantity))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shop", description="Quote orders from a catalog.")
    commands = parser.add_subparsers(dest="command", required=True)
    quoting = commands.add_parser("quote", help="price an order")
    quoting.add_argument("--catalog", type=Path, required=True)
    quoting.add_argument("--coupon")
    quoting.add_argument("--region", default="default")
    quoting.add_argument("lines", nargs="+", metavar="SKU:QTY")
    return parser
