"""Measurements: complexity (params, MACs, FLOPs), accuracy, speed."""
