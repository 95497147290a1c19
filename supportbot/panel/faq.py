"""The FAQ page: the entries the bot answers with, and the gaps (questions operators answered instead)."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..faq.gaps import find_gaps, group_questions, read_history
from .auth import login_required
from .db import state

bp = Blueprint("faq", __name__)


@bp.route("/faq")
@login_required
def page():
    matcher = state().faq()
    gaps = group_questions(find_gaps(read_history(state().config.database), matcher))
    return render_template("faq.html", entries=matcher.entries, gaps=gaps)
