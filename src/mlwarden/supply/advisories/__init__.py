"""The offline advisory database: OSV records in SQLite (store), loading them (importer, update)."""
