"""vlm-contract-harness: contract tests and provider-compatibility checks for VLM APIs."""

__version__ = "0.1.0"
