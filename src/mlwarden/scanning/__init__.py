"""The scan engine: walk inputs, identify each file by content, dispatch to artifact scanners."""
