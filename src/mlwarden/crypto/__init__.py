"""Encryption at rest: the streaming file format and its key recipients."""
