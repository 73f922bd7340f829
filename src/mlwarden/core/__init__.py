"""Core value types shared by every capability: findings, the rule catalogue, errors, limits, policy."""
