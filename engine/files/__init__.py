"""Files for `file_search`: extracting text, chunking it, and ranking chunks for a query."""
