"""The open-model catalog: records as data, importers, search index and lineage."""
