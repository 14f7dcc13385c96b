"""A small warehouse stock ledger."""
