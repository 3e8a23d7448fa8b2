"""Files for `file_search`: extracting text, chunking it, ranking chunks, ingestion and search."""
