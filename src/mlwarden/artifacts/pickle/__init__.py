"""Static pickle analysis: never unpickles anything."""
