"""Lotse ingestion: load corpus files, chunk them by section, embed and index them."""
