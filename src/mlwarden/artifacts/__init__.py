"""Artifact scanners, one module per format family. Each implements ``mlwarden.scan.context.Scanner``."""
