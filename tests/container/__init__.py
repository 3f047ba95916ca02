"""The container image and the compose file, tested without a Docker engine."""
