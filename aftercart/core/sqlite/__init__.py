"""SQLite database backend for Aftercart: Django's, with writers queued inside the process."""
