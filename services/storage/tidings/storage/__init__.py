"""The storage service: the only owner of the database."""
