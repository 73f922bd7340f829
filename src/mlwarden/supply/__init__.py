"""Supply-chain audit: dependencies against an offline advisory database, unsafe ML code and configuration,
notebooks, leaked secrets, and the ML bill of materials. Static analysis only: nothing scanned is imported or run.
"""
