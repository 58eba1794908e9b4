"""Requests -> numbers. Tasks build requests; the engine alone decides batching, order, padding and caching."""

from lmbench.engine.requests import GenerateRequest, LoglikelihoodRequest, LoglikelihoodResult, RollingRequest

__all__ = ["GenerateRequest", "LoglikelihoodRequest", "LoglikelihoodResult", "RollingRequest"]
