"""Search across every conversation, Russian word forms included: on SQLite FTS5 over the FAQ stemmer's
terms, on PostgreSQL the server's full-text search with its 'russian' configuration."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from ..faq import normalize, stem
from .auth import login_required
from .db import storage

bp = Blueprint("search", __name__)


def words_of(text: str) -> list[str]:
    """The stemmed words of a text as the index keeps them («доставку» → «доставк»)."""
    return [stem(word) for word in normalize(text).split()]


@bp.route("/search")
@login_required
def page():
    query = request.args.get("q", "").strip()[:200]
    results = []
    if query:
        with storage().transaction() as tx:
            while tx.index_messages(words_of):
                pass
        with storage().reading() as tx:
            results = tx.search_messages(query, words_of(query))
    return render_template("search.html", query=query, results=results)
