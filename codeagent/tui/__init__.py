"""The Textual interface: renders a fix session's ``AgentEvent``s; the session runs in a worker.

Only this layer imports ``textual``. The app never touches the network, the disk or a process
itself: everything it needs of the world goes through a ``Host`` (given by the CLI), called
from worker threads, and comes back as messages.
"""
