"""Dependencies: where they are declared (``sources``), what they are (``model``) and the audit (``audit``)."""
