"""Artifact scanners, one module per format family. Each implements ``mlwarden.scanning.context.Scanner``."""
