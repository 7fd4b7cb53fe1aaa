"""Papers replicate knows: each folder holds a model builder, a data loader and a README of sources."""
