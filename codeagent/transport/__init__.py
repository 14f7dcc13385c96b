"""Async I/O shells for the client: transports (WebSocket, HTTP+SSE, in-memory), the
``ResponsesClient`` that chains turns over them, and the ``TurnStats`` it records."""
