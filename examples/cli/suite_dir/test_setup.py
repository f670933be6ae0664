"""Folder discovery example: prerequisites other modules depend on."""

from thread_order import mark


@mark(tags="infra")
def create_db(state):
    return "db"


@mark(tags="infra")
def create_cache(state):
    return "cache"
