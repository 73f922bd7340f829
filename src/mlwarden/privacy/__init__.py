"""Personal data in training data: detection in text and tables (validators, context, confidence)."""
