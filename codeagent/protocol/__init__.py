"""The Responses API, sans I/O: typed requests, items, events, and the state machines of both ends.

Nothing here imports asyncio or a network library; tests feed it JSON strings.
"""
