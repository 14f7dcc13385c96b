"""The bug-fixing agent: localise, propose, validate, patch, over one cached connection."""
