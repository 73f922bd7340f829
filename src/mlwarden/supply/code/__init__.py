"""Unsafe ML code: Python AST rules, YAML/JSON configuration rules, notebooks."""
