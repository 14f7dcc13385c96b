"""A small order desk: look products up, quote orders, reserve stock, place orders."""
