"""Uploaded files: what file_search ingests from them."""
