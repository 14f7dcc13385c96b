"""A Responses-compatible server: HTTP+SSE and WebSocket on one port, over a model backend."""
