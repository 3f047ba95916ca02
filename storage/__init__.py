"""Persistence and nothing else: tables (``models``), engine and sessions (``db``), migrations
(``schema``), token encryption (``crypto``), and the repository functions (``repository``)."""
