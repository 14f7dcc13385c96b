"""The composition root: flags + environment + config file -> settings -> objects -> a command."""
