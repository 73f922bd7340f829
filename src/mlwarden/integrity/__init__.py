"""Model integrity: hashing model folders, OMS signatures (sign, verify), trust policy, signing registry."""
