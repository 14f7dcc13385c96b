"""The exceptions the order desk raises; all derive from ``ShopError``."""


class ShopError(Exception):
    """Base class: the message is fit to show to the person placing the order."""


class UnknownProduct(ShopError):
    """No product in the catalog has the requested SKU."""


class OutOfStock(ShopError):
    """Fewer units are available than an order line asks for."""


class InvalidCoupon(ShopError):
    """The coupon code does not exist or the order does not qualify for it."""
