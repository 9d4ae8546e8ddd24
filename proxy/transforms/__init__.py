"""Transforms of the HTML pipeline, one module per concern (the order lives in pipeline.default_transforms)."""
